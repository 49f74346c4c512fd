import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testApp, testConfig } from '../support/app.js';

/**
 * Oversized bodies against a real listening server and Node's own fetch,
 * which keeps connections alive between requests: every client must read
 * its 413, and the request after it must work.
 */

const API_TOKEN = 'api-token-0123456789abcdef';
const LIMIT = 64 * 1024;
const OVERSIZED = 2 * 1024 * 1024;
const ROUNDS = 25;

let database: TestDatabase;
let server: Server;
let url: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const app = testApp(database.db, testConfig({ auth: { apiToken: API_TOKEN }, http: { bodyLimitBytes: LIMIT } }));
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  await new Promise<void>((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await database.destroy();
});

const headers = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };

/** A JSON string body of `bytes` bytes, sent with a Content-Length. */
function sizedBody(bytes: number): string {
  return `"${'x'.repeat(bytes - 2)}"`;
}

/** The same, sent chunked: the server cannot know the size until it has counted. */
function chunkedBody(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(16 * 1024).fill(0x78);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.length;
    },
  });
}

async function expect413(body: () => RequestInit['body']) {
  const res = await fetch(`${url}/api/goals`, { method: 'POST', headers, body: body(), duplex: 'half' } as RequestInit);
  expect(res.status).toBe(413);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  expect(await res.json()).toMatchObject({ error: `request body is larger than ${LIMIT} bytes`, request_id: expect.any(String) });
  return res;
}

/** A request that must succeed on whatever connection the pool hands out next. */
async function expectNextRequestWorks() {
  const res = await fetch(`${url}/api/goals`, { headers });
  expect(res.status).toBe(200);
  await res.json();
}

describe('bodies above the limit', () => {
  it('with Content-Length: every request gets its 413 and the connection stays usable', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const res = await expect413(() => sizedBody(OVERSIZED));
      // Decided from the header alone: nothing was read, so the server can keep the connection.
      expect(res.headers.get('connection')).not.toBe('close');
      await expectNextRequestWorks();
    }
  });

  it('chunked: every request gets its 413 with Connection: close, and the next request works', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const res = await expect413(() => chunkedBody(OVERSIZED));
      expect(res.headers.get('connection')).toBe('close');
      await expectNextRequestWorks();
    }
  });

  it('a chunked body within the limit is read and handled as usual', async () => {
    const goal = JSON.stringify({ title: 'chunked', repo: '/r', tasks: [{ key: 'a', title: 'A' }] });
    const bytes = new TextEncoder().encode(goal);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 10));
        controller.enqueue(bytes.subarray(10));
        controller.close();
      },
    });
    const res = await fetch(`${url}/api/goals`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(201);
    expect(((await res.json()) as any).goal.title).toBe('chunked');
  });
});
