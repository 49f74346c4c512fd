import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleDashboard } from '../../server/dashboard-bundle.js';
import { createApp } from '../../server/http/app.js';
import { firstLoadBytes, type DashboardAssets } from '../../server/http/dashboard/dashboard-assets.js';
import { pickEncoding } from '../../server/http/dashboard/dashboard.router.js';
import { createLogger } from '../../server/logger.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * The dashboard as the server ships it: bundled from web/ in memory, served
 * at / with hashed, precompressed assets, its first load under 200 KB.
 */

let assets: DashboardAssets;
let database: TestDatabase;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  assets = await bundleDashboard();
  database = await createTestDatabase();
  app = createApp({ db: database.db, logger: createLogger('silent'), config: testConfig({ auth: { apiToken: 'a-token-of-sixteen-chars' } }), dashboard: assets });
}, 60_000);

afterAll(async () => {
  await database?.destroy();
});

describe('the bundle', () => {
  it('keeps the first load under 200 KB compressed', () => {
    const bytes = firstLoadBytes(assets);
    // Printed, not asserted beyond the bar: the figure the README and notes quote.
    console.log(`dashboard first load: ${bytes} bytes (brotli), ${assets.firstLoad.join(', ')}`);
    expect(bytes).toBeLessThan(200 * 1024);
    const gzip = assets.firstLoad.reduce((sum, name) => sum + assets.files.get(name)!.gzip.length, assets.shell.gzip.length);
    expect(gzip).toBeLessThan(200 * 1024);
  });

  it('names every file by its content and loads only those from the shell, with no inline script', () => {
    const shell = assets.shell.identity.toString('utf8');
    for (const name of assets.files.keys()) expect(name).toMatch(/^[\w-]+-[A-Za-z0-9]{8}\.(js|css|svg)$/);
    const referenced = [...shell.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!);
    expect(referenced.length).toBeGreaterThanOrEqual(3);
    for (const name of referenced) expect(assets.files.has(name), name).toBe(true);
    expect(shell).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(shell).not.toMatch(/\son\w+=/);
    expect(shell).not.toMatch(/https?:\/\//);
  });

  it('keeps the YAML parser out of the first load', () => {
    const lazy = [...assets.files.keys()].filter((name) => name.startsWith('goal-check-'));
    expect(lazy).toHaveLength(1);
    expect(assets.firstLoad).not.toContain(lazy[0]);
  });
});

describe('serving it', () => {
  it('serves the shell for the pages the dashboard owns, never cached, under a strict CSP', async () => {
    for (const path of ['/', '/goals', '/goals/5b0c7a60-0000-4000-8000-000000000000', '/tasks/x', '/new', '/signals']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await res.text()).toBe(assets.shell.identity.toString('utf8'));
    }
  });

  it('serves assets brotli, gzip or plain as asked, cached for good', async () => {
    const script = assets.firstLoad[0]!;
    const plain = assets.files.get(script)!.identity;
    const br = await app.request(`/assets/${script}`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(br.headers.get('vary')).toBe('Accept-Encoding');
    expect(br.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(brotliDecompressSync(Buffer.from(await br.arrayBuffer())).equals(plain)).toBe(true);
    const gz = await app.request(`/assets/${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(Buffer.from(await gz.arrayBuffer())).equals(plain)).toBe(true);
    const none = await app.request(`/assets/${script}`);
    expect(none.headers.get('content-encoding')).toBeNull();
    expect(Buffer.from(await none.arrayBuffer()).equals(plain)).toBe(true);
    const again = await app.request(`/assets/${script}`, { headers: { 'if-none-match': br.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('answers an unknown asset and paths it does not own with the JSON 404, and leaves /api behind its token', async () => {
    for (const path of ['/assets/main-AAAAAAAA.js', '/elsewhere', '/goals/x/y']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: string }).error).toBeTruthy();
    }
    expect((await app.request('/api/goals')).status).toBe(401);
  });

  it('picks the encoding from Accept-Encoding, honouring q=0', () => {
    expect(pickEncoding(undefined)).toBe('identity');
    expect(pickEncoding('gzip, br')).toBe('br');
    expect(pickEncoding('br;q=0, gzip')).toBe('gzip');
    expect(pickEncoding('br;q=0.0, gzip;q=0')).toBe('identity');
    expect(pickEncoding('deflate, GZIP;q=0.5')).toBe('gzip');
  });
});

describe('while it builds', () => {
  it('holds requests until the bundle is ready, and answers 503 if it failed', async () => {
    let finish!: (assets: DashboardAssets) => void;
    const building = createApp({ db: database.db, logger: createLogger('silent'), config: testConfig(), dashboard: new Promise((resolve) => (finish = resolve)) });
    const waiting = building.request('/');
    finish(assets);
    expect((await waiting).status).toBe(200);
    const broken = createApp({ db: database.db, logger: createLogger('silent'), config: testConfig(), dashboard: Promise.reject(new Error('syntax error in web/')) });
    const res = await broken.request('/assets/anything.js');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/failed to build/);
  });
});

describe('without it', () => {
  it('leaves / a 404 when the dashboard is off', async () => {
    const bare = createApp({ db: database.db, logger: createLogger('silent'), config: testConfig() });
    expect((await bare.request('/')).status).toBe(404);
  });
});
