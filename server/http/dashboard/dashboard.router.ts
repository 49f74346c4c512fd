import { Hono, type Context } from 'hono';
import type { AppEnv } from '../context.js';
import { errorResponse } from '../errors.js';
import type { DashboardAssets, DashboardFile } from './dashboard-assets.js';

/**
 * The web dashboard: hashed assets under /assets/ (cached for good: a new
 * build has new names) and the HTML shell for every path the single-page app
 * owns (never cached, so a restart's new build is picked up at once). The
 * shell carries no data: what it shows comes from /api, behind its auth.
 */

/** Paths the dashboard's router draws; anything else stays a JSON 404. */
const PAGES = ['/', '/goals', '/goals/:id', '/tasks/:id', '/new', '/signals'];

/**
 * No inline scripts or styles, nothing from another origin: the bundle is
 * all there is. connect-src 'self' covers fetch and EventSource.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `bundle` may still be building when the server starts listening: the first
 * requests wait for it, so bundling adds nothing to the time until the API answers.
 */
export function dashboardRouter(bundle: DashboardAssets | Promise<DashboardAssets>) {
  const router = new Hono<AppEnv>();
  const ready = Promise.resolve(bundle);
  // Failing requests say so; the failure itself is logged by whoever built the bundle.
  ready.catch(() => {});
  const assetsOr503 = async (c: Context<AppEnv>) =>
    ready.then(
      (assets) => ({ assets, failed: null }),
      () => ({ assets: null, failed: errorResponse(c, 503, 'the dashboard failed to build; the server log says why') }),
    );

  for (const page of PAGES) {
    router.get(page, async (c) => {
      const { assets, failed } = await assetsOr503(c);
      return failed ?? send(c, assets.shell, 'no-cache');
    });
  }
  router.get('/assets/:file', async (c) => {
    const { assets, failed } = await assetsOr503(c);
    if (failed) return failed;
    const file = assets.files.get(c.req.param('file'));
    if (!file) return errorResponse(c, 404, `no dashboard asset ${c.req.param('file')}; reload the page for the current build`);
    return send(c, file, 'public, max-age=31536000, immutable');
  });
  return router;
}

function send(c: Context<AppEnv>, file: DashboardFile, cacheControl: string): Response {
  const headers: Record<string, string> = {
    'Content-Type': file.contentType,
    'Cache-Control': cacheControl,
    ETag: file.etag,
    Vary: 'Accept-Encoding',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'Referrer-Policy': 'same-origin',
  };
  if (c.req.header('if-none-match') === file.etag) return new Response(null, { status: 304, headers });
  const encoding = pickEncoding(c.req.header('accept-encoding'));
  const body = encoding === 'br' ? file.br : encoding === 'gzip' ? file.gzip : file.identity;
  if (encoding !== 'identity') headers['Content-Encoding'] = encoding;
  headers['Content-Length'] = String(body.length);
  return new Response(c.req.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
}

/** Brotli when the client takes it, else gzip, else the plain bytes (q=0 refuses an encoding). */
export function pickEncoding(header: string | undefined): 'br' | 'gzip' | 'identity' {
  const accepted = new Set(
    (header ?? '')
      .split(',')
      .map((part) => part.trim().split(';'))
      .filter(([, ...params]) => !params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p)))
      .map(([name]) => name!.trim().toLowerCase()),
  );
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip')) return 'gzip';
  return 'identity';
}
