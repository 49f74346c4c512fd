import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { call, designGoal, rowCounts, testApp, testConfig } from '../support/app.js';

const API_TOKEN = 'api-token-0123456789abcdef';
const SIGNAL_TOKEN = 'signal-token-0123456789abcdef';

let database: TestDatabase;
let app: ReturnType<typeof testApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  app = testApp(database.db, testConfig({ auth: { apiToken: API_TOKEN, signalToken: SIGNAL_TOKEN } }));
});
afterAll(() => database.destroy());

describe('with ARBOR_API_TOKEN set', () => {
  it('401 without a token, with a WWW-Authenticate challenge, and writes nothing', async () => {
    const before = await rowCounts(database.db);
    const res = await call(app, 'POST', '/api/goals', designGoal());
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="arbor"');
    expect(res.json).toMatchObject({ error: 'missing bearer token', request_id: expect.any(String) });
    expect(await rowCounts(database.db)).toEqual(before);
  });

  it('401 for a wrong token, in either header', async () => {
    const wrong = await call(app, 'GET', '/api/goals', undefined, { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe('invalid token');
    const internal = await call(app, 'GET', '/api/goals', undefined, { 'x-internal-token': 'not-the-token' });
    expect(internal.status).toBe(401);
    const basic = await call(app, 'GET', '/api/goals', undefined, { authorization: `Basic ${API_TOKEN}` });
    expect(basic.status).toBe(401);
  });

  it('200 with the API token', async () => {
    const res = await call(app, 'POST', '/api/goals', designGoal(), { authorization: `Bearer ${API_TOKEN}` });
    expect(res.status).toBe(201);
    expect((await call(app, 'GET', '/api/goals', undefined, { authorization: `bearer ${API_TOKEN}` })).status).toBe(200);
  });

  it('403 for the signal token outside the signal routes, as bearer or X-Internal-Token', async () => {
    const before = await rowCounts(database.db);
    const bearer = await call(app, 'POST', '/api/goals', designGoal(), { authorization: `Bearer ${SIGNAL_TOKEN}` });
    expect(bearer.status).toBe(403);
    expect(bearer.json.error).toBe('this token may only post signals');
    const internal = await call(app, 'GET', '/api/goals', undefined, { 'x-internal-token': SIGNAL_TOKEN });
    expect(internal.status).toBe(403);
    expect(await rowCounts(database.db)).toEqual(before);
  });

  it('leaves health, readiness, metrics and the OpenAPI document open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      expect((await call(app, 'GET', path)).status).toBe(200);
    }
  });
});

describe('with no tokens set', () => {
  it('the API is open (config allows that only on loopback)', async () => {
    const open = testApp(database.db, testConfig());
    expect((await call(open, 'GET', '/api/goals')).status).toBe(200);
  });
});
