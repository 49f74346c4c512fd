import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/http/app.js';
import { createLogger } from '../../server/logger.js';
import { sessionCookies } from '../../server/http/auth-session/session-cookie.js';
import { appendSessionLogs } from '../../server/store/sessions.js';
import { call, designGoal, rowCounts, testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal } from '../support/orchestration.js';
import { createTestSession } from '../support/sessions.js';

const API_TOKEN = 'api-token-for-the-sign-in-0123456789';

let database: TestDatabase;
let app: ReturnType<typeof testApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  app = testApp(database.db, testConfig({ auth: { apiToken: API_TOKEN } }));
});
afterAll(() => database.destroy());

/** Signs in and returns what a browser would keep: the cookie pair to send back, and the CSRF token. */
async function signIn(on = app, headers: Record<string, string> = {}) {
  const res = await call(on, 'POST', '/api/auth/session', { token: API_TOKEN }, headers);
  expect(res.status).toBe(200);
  const setCookie = res.headers.get('set-cookie')!;
  const pair = /^(arbor_session=[^;]+)/.exec(setCookie)![1]!;
  return { cookie: pair, csrf: res.json.csrf_token as string, setCookie };
}

describe('signing in with ARBOR_API_TOKEN set', () => {
  it('says a sign-in is required, then sets an HttpOnly SameSite=Strict cookie for the right token', async () => {
    expect((await call(app, 'GET', '/api/auth/session')).json).toEqual({ auth_required: true, signed_in: false, csrf_token: null });
    const { cookie, csrf, setCookie } = await signIn();
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/);
    expect(cookie).not.toContain(API_TOKEN);
    expect((await call(app, 'GET', '/api/auth/session', undefined, { cookie })).json).toEqual({ auth_required: true, signed_in: true, csrf_token: csrf });
  });

  it('marks the cookie Secure when the request came over https (directly or through a proxy)', async () => {
    expect((await signIn(app, { 'x-forwarded-proto': 'https' })).setCookie).toMatch(/; Secure/);
    const direct = await app.request('https://arbor.example/api/auth/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: API_TOKEN }),
    });
    expect(direct.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('401 for a wrong token, and no cookie', async () => {
    const res = await call(app, 'POST', '/api/auth/session', { token: `${API_TOKEN}x` });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: 'invalid token', request_id: expect.any(String) });
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('the cookie opens GET routes, and writes with the CSRF header', async () => {
    const { cookie, csrf } = await signIn();
    expect((await call(app, 'GET', '/api/goals', undefined, { cookie })).status).toBe(200);
    const created = await call(app, 'POST', '/api/goals', designGoal(), { cookie, 'x-arbor-csrf': csrf });
    expect(created.status).toBe(201);
    const paused = await call(app, 'POST', `/api/goals/${created.json.goal.id}/pause`, undefined, { cookie, 'x-arbor-csrf': csrf });
    expect(paused.status).toBe(200);
  });

  it('403 for a write by cookie without the CSRF header, or with another sign-in\'s, and nothing is written', async () => {
    const { cookie } = await signIn();
    const other = await signIn();
    const before = await rowCounts(database.db);
    const missing = await call(app, 'POST', '/api/goals', designGoal(), { cookie });
    expect(missing.status).toBe(403);
    expect(missing.json.error).toMatch(/X-Arbor-CSRF/);
    expect((await call(app, 'POST', '/api/goals', designGoal(), { cookie, 'x-arbor-csrf': other.csrf })).status).toBe(403);
    expect((await call(app, 'POST', '/api/goals', designGoal(), { cookie, 'x-arbor-csrf': '' })).status).toBe(403);
    expect(await rowCounts(database.db)).toEqual(before);
  });

  it('a bearer caller needs no CSRF header; a bearer header decides even next to a cookie', async () => {
    const { cookie } = await signIn();
    expect((await call(app, 'POST', '/api/goals', designGoal(), { authorization: `Bearer ${API_TOKEN}` })).status).toBe(201);
    expect((await call(app, 'GET', '/api/goals', undefined, { cookie, authorization: 'Bearer wrong-token' })).status).toBe(401);
  });

  it('401 for a forged, expired or foreign cookie', async () => {
    const { cookie } = await signIn();
    const forged = cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const expired = `arbor_session=${sessionCookies(API_TOKEN, 60).issue(new Date(Date.now() - 3_600_000)).value}`;
    const foreign = `arbor_session=${sessionCookies('another-token-0123456789abcdef', 3600).issue().value}`;
    for (const bad of [forged, expired, foreign, 'arbor_session=v1.99999999999.x.y', 'arbor_session=']) {
      const res = await call(app, 'GET', '/api/goals', undefined, { cookie: bad });
      expect(res.status, bad).toBe(401);
      expect(res.json.error).toMatch(/sign in again/);
      expect((await call(app, 'GET', '/api/auth/session', undefined, { cookie: bad })).json.signed_in).toBe(false);
    }
  });

  it('the cookie opens the event stream and a session log stream (EventSource sends no bearer token)', async () => {
    const { cookie } = await signIn();
    const { goal, tasks } = await createGoal(database.db, [{ key: 'a', title: 'A' }]);
    const session = await createTestSession(database.db, { goalId: goal.id, taskId: tasks[0]!.id });
    await appendSessionLogs(database.db, session.id, [{ stream: 'stdout', text: 'hello', at: new Date() }], 100);
    for (const path of [`/api/events?goal_id=${goal.id}`, `/api/sessions/${session.id}/logs`]) {
      expect((await app.request(path, { headers: { accept: 'text/event-stream' } })).status, path).toBe(401);
      const res = await app.request(path, { headers: { accept: 'text/event-stream', cookie } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      await reader.cancel();
    }
  });

  it('signing out clears the cookie', async () => {
    const res = await call(app, 'DELETE', '/api/auth/session');
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toMatch(/^arbor_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict/);
  });
});

describe('the log', () => {
  it('never holds the token, the cookie or the CSRF token, even with everything logged', async () => {
    let written = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        written += String(chunk);
        done();
      },
    });
    const logged = createApp({ db: database.db, logger: createLogger('trace', sink as never), config: testConfig({ auth: { apiToken: API_TOKEN } }) });
    const { cookie, csrf } = await signIn(logged as typeof app);
    await call(logged as typeof app, 'GET', '/api/goals', undefined, { cookie });
    await call(logged as typeof app, 'POST', '/api/goals', designGoal(), { cookie });
    createLogger('info', sink as never).info({ headers: { cookie, 'set-cookie': cookie }, cookie }, 'a stray object');
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toContain('a stray object');
    for (const secret of [API_TOKEN, cookie.split('=')[1]!, csrf]) expect(written).not.toContain(secret);
  });
});

describe('with no ARBOR_API_TOKEN', () => {
  it('no sign-in is required, and signing in is a 409 that says why', async () => {
    const open = testApp(database.db, testConfig());
    expect((await call(open, 'GET', '/api/auth/session')).json).toEqual({ auth_required: false, signed_in: false, csrf_token: null });
    const res = await call(open, 'POST', '/api/auth/session', { token: API_TOKEN });
    expect(res.status).toBe(409);
    expect(res.json.error).toMatch(/no API token is configured/);
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});
