import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/**
 * The dashboard as the server holds it: every file in memory, compressed once
 * when Arbor starts (gzip and brotli), so serving one is a map lookup.
 */
export interface DashboardFile {
  contentType: string;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
  /** A strong validator over the uncompressed bytes. */
  etag: string;
}

export interface DashboardAssets {
  /** The HTML shell every page the dashboard owns starts from; never cached. */
  shell: DashboardFile;
  /** Content-hashed files under /assets/, by file name: cached for a year. */
  files: Map<string, DashboardFile>;
  /** The file names the shell loads itself (its script, stylesheet and icon), for measuring a first load. */
  firstLoad: string[];
}

/**
 * Brotli's best quality costs seconds on a large file at every start (measured: 3.4 s for the
 * 565 KB goal-check chunk, 0.2 s for the 43 KB main script); past this size a faster quality
 * gives up ~10% of the saving.
 */
const BEST_QUALITY_UP_TO_BYTES = 128 * 1024;

export function dashboardFile(body: Buffer | string, contentType: string): DashboardFile {
  const identity = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const quality = identity.length <= BEST_QUALITY_UP_TO_BYTES ? 11 : 5;
  return {
    contentType,
    identity,
    gzip: gzipSync(identity, { level: 9 }),
    br: brotliCompressSync(identity, {
      params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: identity.length },
    }),
    etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`,
  };
}

/** What a browser downloads on a first visit, compressed as it would be (brotli): the shell and what it loads. */
export function firstLoadBytes(assets: DashboardAssets): number {
  return assets.firstLoad.reduce((sum, name) => sum + (assets.files.get(name)?.br.length ?? 0), assets.shell.br.length);
}
