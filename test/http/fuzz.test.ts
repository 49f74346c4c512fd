import { createHmac } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveSignal } from '../../server/signals/resolver.js';
import { activateReadyTasks, claimReadyTasks } from '../../server/store/dispatch.js';
import { testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { MalformedRequests, operationKey, operationsOf, type FuzzRequest, type Json, type Operation } from '../support/malformed-requests.js';
import { byKey, createGoal } from '../support/orchestration.js';
import { SeededRandom } from '../support/seeded-random.js';
import { createTestSession } from '../support/sessions.js';

/**
 * Generated malformed requests against every route: none may answer 5xx, every
 * error is the one JSON shape, and no row of any table changes. A seeded goal,
 * its tasks (running, waiting at a gate, in review), a session and a signal
 * make requests with ids meet real rows. Deterministic: one seed, one order.
 */

const SEED = 0x5eed_0008;
// Enough that every route, the newest included, is met at least 30 times.
const REQUESTS = 2000;
const WEBHOOK_SECRET = 'webhook-secret-for-the-fuzz-test-0123';
const API_TOKEN = 'api-token-for-the-fuzz-test-0123456789';

let database: TestDatabase;
let ids: { goal: string; work: string; gate: string; review: string; session: string };

beforeAll(async () => {
  database = await createTestDatabase();
  const { goal, tasks } = await createGoal(
    database.db,
    [
      { key: 'work', title: 'Work' },
      { key: 'gate', title: 'CI', kind: 'wait_for_signal', gate: { type: 'gh_ci', repo: 'acme/fuzz', pr: 3 } },
      { key: 'review', title: 'Review', kind: 'human_review' },
    ],
    { childrenMode: 'parallel' },
  );
  const byName = byKey(tasks);
  await claimReadyTasks(database.db, { owner: 'fuzz', capacity: 1, spawnBudget: 1, leaseMs: 3_600_000 });
  const session = await createTestSession(database.db, { taskId: byName.work!.id, goalId: goal.id });
  await activateReadyTasks(database.db);
  await resolveSignal(database.db, { type: 'gh_ci', attributes: { repo: 'acme/other', pr: 9 }, status: 'fail', summary: 'red', source: 'api' });
  ids = { goal: goal.id, work: byName.work!.id, gate: byName.gate!.id, review: byName.review!.id, session: session.id };
  const states = await database.db.selectFrom('tasks').select(['key', 'status']).execute();
  expect(Object.fromEntries(states.map((t) => [t.key, t.status]))).toEqual({ work: 'running', gate: 'waiting', review: 'review' });
});
afterAll(() => database.destroy());

/** Every row of every table, hashed per table: equal fingerprints mean nothing was written. */
async function fingerprint(): Promise<string> {
  const { rows: tables } = await sql<{ name: string }>`
    SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`.execute(database.db);
  const parts = tables.map(
    ({ name }) => sql<{ part: string }>`
      SELECT ${name} || ':' || count(*) || ':' || md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) AS part
      FROM ${sql.table(name)} t`,
  );
  const { rows } = await sql<{ part: string }>`${sql.join(parts, sql` UNION ALL `)}`.execute(database.db);
  return rows.map((r) => r.part).sort().join('\n');
}

/** Routes outside the OpenAPI document, and paths that name no route. */
const EXTRA_OPERATIONS: Operation[] = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/', '/api/unknown', '/api/goals/{id}/unknown'].map((path) => ({
  method: 'get',
  path,
  query: [],
  hasBody: false,
  bodyRequired: false,
}));

const baseBodies: Record<string, Json> = {
  'POST /api/goals': {
    title: 'Fuzzed goal',
    description: 'never stored',
    repo: '/srv/repos/fuzz',
    base_ref: 'main',
    agent: 'command',
    max_parallel: 2,
    tasks: [
      { key: 'plan', title: 'Plan', instructions: 'Plan it', priority: 1 },
      { key: 'ci', title: 'CI', kind: 'wait_for_signal', depends_on: ['plan'], gate: { type: 'gh_ci', repo: 'acme/fuzz', pr: 4 } },
    ],
  },
  // Never the real token: the open app answers 409 (nothing to sign in to), the secured one 401.
  'POST /api/auth/session': { token: 'not-the-api-token-0123456789' },
  'POST /api/tasks/{id}/complete': { summary: 'done', artifacts: { files: ['a.ts'], lines: 3 } },
  'POST /api/tasks/{id}/block': { reason: 'stuck on credentials' },
  'POST /api/tasks/{id}/subtasks': { tasks: [{ key: 'sub', title: 'Sub', depends_on: ['plan'] }], children_mode: 'parallel' },
  'POST /api/tasks/{id}/signal': { status: 'fail', summary: 'red', artifacts: { log: 'failed' } },
  'POST /api/tasks/{id}/approve': { comment: 'fine' },
  'POST /api/tasks/{id}/reject': { feedback: 'again, please' },
  'POST /api/signals/resolve': { type: 'gh_ci', repo: 'acme/fuzz', pr: 3, status: 'pass', summary: 'green', artifacts: { run: 1 }, idempotency_key: 'fuzz-1' },
  'POST /api/templates': {
    name: 'fuzz-template',
    description: 'never stored',
    parameters: { repo: { type: 'string', example: '/srv/repos/fuzz' }, title: { type: 'string', default: 'Fuzzed' } },
    body: { title: '{{title}}', repo: '{{repo}}', base_ref: 'main', tasks: [{ key: 'work', title: 'Work', instructions: 'In {{repo}}' }] },
  },
  'POST /api/templates/{name}/goals': { params: { repo: '/srv/repos/fuzz', title: 'Fuzzed' } },
  // No such template: however it is mutated, nothing is stored.
  'POST /api/triggers': { template: 'fuzz-none', params: { repo: '/srv/repos/fuzz' }, schedule: { cron: '0 9 * * 1-5', time_zone: 'Europe/Berlin' } },
  // Not a completed run: however it is mutated, GitHub's event is one Arbor ignores.
  'POST /api/webhooks/github': {
    action: 'requested',
    check_suite: { id: 1, head_sha: 'abc123', conclusion: null, pull_requests: [{ number: 3, url: 'https://api.github.com/repos/acme/fuzz/pulls/3' }] },
    repository: { full_name: 'acme/fuzz', name: 'fuzz', owner: { login: 'acme' } },
  },
};

function idFor(path: string): string {
  if (path.startsWith('/api/goals/')) return ids.goal;
  if (path.startsWith('/api/sessions/')) return ids.session;
  if (/\/(complete|block)$/.test(path)) return ids.work;
  if (path.endsWith('/signal')) return ids.gate;
  if (/\/(approve|reject)$/.test(path)) return ids.review;
  return random.pick([ids.work, ids.gate, ids.review]);
}

const random = new SeededRandom(SEED);

/** A webhook delivery is worth fuzzing past its signature: most are signed, some with wrong headers. */
function signWebhook(request: FuzzRequest): FuzzRequest {
  if (request.operation !== 'POST /api/webhooks/github' || request.body === undefined || random.chance(0.25)) return request;
  const bytes = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : Buffer.from(request.body);
  return {
    ...request,
    headers: {
      ...request.headers,
      'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(bytes).digest('hex')}`,
      'x-github-event': random.pick(['check_suite', 'workflow_run', 'pull_request_review', 'ping', 'push', 'BAD EVENT', '']),
      'x-github-delivery': random.pick([`delivery-${random.int(1, 1e9)}`, '', '../etc', 'a'.repeat(500)]),
    },
  };
}

/** A Uint8Array body says its length the way a real client would; a string one is sent as it is. */
function toRequestInit(request: FuzzRequest): RequestInit {
  const headers = { ...request.headers };
  if (request.body instanceof Uint8Array) headers['content-length'] ??= String(request.body.byteLength);
  return { method: request.method, headers, body: request.body as RequestInit['body'] };
}

it(`answers ${REQUESTS} malformed requests on every route with a 4xx JSON error and writes nothing`, async () => {
  const open = testApp(database.db, testConfig({ auth: { githubWebhookSecret: WEBHOOK_SECRET } }));
  const secured = testApp(database.db, testConfig({ auth: { apiToken: API_TOKEN, githubWebhookSecret: WEBHOOK_SECRET } }));
  const doc = (await (await open.request('/openapi.json')).json()) as Parameters<typeof operationsOf>[0];
  const documented = operationsOf(doc);
  // Every operation with a body has a well-formed one to break: a new route must be added here.
  expect(documented.filter((op) => op.hasBody).map(operationKey).sort()).toEqual(Object.keys(baseBodies).sort());
  const operations = [...documented, ...EXTRA_OPERATIONS];
  const generator = new MalformedRequests(random, { idFor, baseBodies });

  const before = await fingerprint();
  const statuses = new Map<number, number>();
  const perOperation = new Map<string, number>();
  const kinds = new Set<string>();
  const failures: string[] = [];
  // First every string, key and field of every body broken in turn, then requests drawn at random.
  const swept = operations.flatMap((op) => generator.sweep(op));
  for (let i = 0; i < REQUESTS; i++) {
    const request = signWebhook(swept[i] ?? generator.next(operations[i % operations.length]!));
    kinds.add(request.kind);
    perOperation.set(request.operation, (perOperation.get(request.operation) ?? 0) + 1);
    // A few go to an app that wants a token, with a wrong one or none.
    const app = request.url.startsWith('/api/') && random.chance(0.05) ? secured : open;
    if (app === secured && random.chance(0.7)) request.headers.authorization = random.pick(['Bearer wrong-token', 'Basic Zm9vOmJhcg==', 'Bearer ', `Bearer ${API_TOKEN}x`]);

    const res = await app.request(request.url, toRequestInit(request));
    const text = await res.text();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const what = `#${i} ${request.kind}: ${request.method} ${request.url.slice(0, 120)} -> ${res.status} ${text.slice(0, 200)}`;
    if (res.status >= 500) failures.push(what);
    else if (res.status >= 400) {
      const body = safeJson(text);
      if (typeof body?.error !== 'string' || typeof body?.request_id !== 'string') failures.push(`not the JSON error: ${what}`);
    }
    if (request.method !== 'GET' && (await fingerprint()) !== before) {
      failures.push(`wrote to the database: ${what}`);
      break;
    }
  }

  expect(failures).toEqual([]);
  expect(await fingerprint()).toBe(before);
  expect(swept.length).toBeLessThan(REQUESTS / 2);
  // Every route was tried, many times, and every kind of breakage was made.
  for (const op of operations) expect(perOperation.get(operationKey(op)) ?? 0, operationKey(op)).toBeGreaterThanOrEqual(30);
  expect([...kinds].sort()).toEqual(
    [
      'deep-at-field', 'deep-body', 'empty', 'huge-number', 'invalid-utf8', 'not-object', 'not-uuid-id', 'nul-in-key', 'nul-in-string',
      'odd-headers', 'odd-query', 'oversized', 'surrogate-in-string', 'truncated', 'unknown-field', 'unknown-id', 'wrong-content-type',
      'wrong-method', 'wrong-type',
    ].sort(),
  );
  console.info(`fuzz: ${REQUESTS} requests (${swept.length} of them the sweep), statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
  // Thousands of requests, each followed by a fingerprint of every table: a busy machine needs time, not a failure.
}, 180_000);

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
