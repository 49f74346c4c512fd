import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dashboardFile, type DashboardAssets, type DashboardFile } from './http/dashboard/dashboard-assets.js';

/**
 * Builds the web dashboard (web/) in memory with esbuild when Arbor starts:
 * minified, content-hashed names, code split (the YAML parser loads only on
 * the new-goal page), each file compressed once. Nothing is written to disk,
 * so there is no build step for a user and no build output to go stale.
 */

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web');

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d4d2b"/><path d="M16 5v22M16 12l-7 6M16 12l7 6M9 18v5M23 18v5" stroke="#b9f0c8" stroke-width="2.5" fill="none" stroke-linecap="round"/></svg>`;

export async function bundleDashboard(webDir = WEB_DIR): Promise<DashboardAssets> {
  // Loaded here, not at the top: only a process that serves the dashboard pays for esbuild.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [path.join(webDir, 'main.tsx')],
    bundle: true,
    write: false,
    // Never written (write: false); names the outputs in the metafile as assets/<name>.
    absWorkingDir: webDir,
    outdir: path.join(webDir, 'assets'),
    entryNames: '[name]-[hash]',
    chunkNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    format: 'esm',
    splitting: true,
    minify: true,
    target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: path.join(webDir, 'tsconfig.json'),
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
  });

  const files = new Map<string, DashboardFile>();
  for (const output of result.outputFiles) {
    const name = path.basename(output.path);
    const type = CONTENT_TYPES[path.extname(name)];
    if (type) files.set(name, dashboardFile(Buffer.from(output.contents), type));
  }
  const outputs = result.metafile.outputs;
  const entry = Object.keys(outputs).find((key) => outputs[key]!.entryPoint !== undefined && key.endsWith('.js'));
  const stylesheet = entry && outputs[entry]!.cssBundle ? path.basename(outputs[entry]!.cssBundle!) : undefined;
  if (!entry || !stylesheet) throw new Error(`the dashboard bundle lacks its script or stylesheet (got ${[...files.keys()].join(', ')})`);
  const script = path.basename(entry);
  // Chunks the entry imports statically load with it; dynamic ones (the YAML parser) only when asked for.
  const staticChunks = outputs[entry]!.imports.filter((i) => i.kind === 'import-statement' && !i.external).map((i) => path.basename(i.path));

  const icon = `icon-${createHash('sha256').update(ICON).digest('hex').slice(0, 8)}.svg`;
  files.set(icon, dashboardFile(ICON, CONTENT_TYPES['.svg']!));

  const shell = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light">',
    '<title>Arbor</title>',
    `<link rel="icon" href="/assets/${icon}" type="image/svg+xml">`,
    `<link rel="stylesheet" href="/assets/${stylesheet}">`,
    `<script type="module" src="/assets/${script}"></script>`,
    ...staticChunks.map((chunk) => `<link rel="modulepreload" href="/assets/${chunk}">`),
    '</head>',
    '<body>',
    '<div id="app"><noscript>The Arbor dashboard needs JavaScript. The API is at <a href="/openapi.json">/openapi.json</a>.</noscript></div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');

  return { shell: dashboardFile(shell, 'text/html; charset=utf-8'), files, firstLoad: [script, ...staticChunks, stylesheet, icon] };
}
