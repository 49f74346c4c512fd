import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activateReadyTasks, claimReadyTasks } from '../../server/store/dispatch.js';
import { call, designGoal, testApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal } from '../support/orchestration.js';
import { createTestSession } from '../support/sessions.js';

/**
 * Input that Postgres cannot store (NUL, lone surrogates), nesting no
 * serializer survives and numbers past a bigint: each once answered 500. Each
 * must be a 4xx with the JSON error naming the field, and change nothing.
 */

let database: TestDatabase;
let app: ReturnType<typeof testApp>;
let runningTaskId: string;
let waitingGateId: string;
let goalOfRunning: string;
let sessionOfRunning: string;

beforeAll(async () => {
  database = await createTestDatabase();
  app = testApp(database.db);
  // A running task with a live session (complete/block reach the database) and a waiting gate.
  const { goal, tasks } = await createGoal(database.db, [
    { key: 'work', title: 'Work' },
    { key: 'gate', title: 'Gate', kind: 'wait_for_signal', gate: { type: 'gh_ci', repo: 'acme/web', pr: 1 } },
  ]);
  const { claimed } = await claimReadyTasks(database.db, { owner: 'bad-input', capacity: 1, spawnBudget: 1, leaseMs: 600_000 });
  expect(claimed).toHaveLength(1);
  runningTaskId = tasks[0]!.id;
  waitingGateId = tasks[1]!.id;
  goalOfRunning = goal.id;
  sessionOfRunning = (await createTestSession(database.db, { taskId: runningTaskId, goalId: goal.id })).id;
  await activateReadyTasks(database.db);
});
afterAll(() => database.destroy());

/** Every row of every table that requests can write, as text: equal before and after means nothing changed. */
async function snapshot() {
  const tables = ['goals', 'tasks', 'task_dependencies', 'task_gate_keys', 'events', 'signals', 'sessions'];
  const parts = await Promise.all(
    tables.map(async (table) => {
      const { rows } = await sql<{ rows: string | null }>`SELECT string_agg(t::text, E'\n' ORDER BY t::text) AS rows FROM ${sql.table(table)} t`.execute(
        database.db,
      );
      return `${table}:\n${rows[0]!.rows ?? ''}`;
    }),
  );
  return parts.join('\n');
}

const NUL = 'a\u0000b';
const LONE = 'a\ud800b';
/** A body with `value` nested `depth` objects deep, written by hand: JSON.stringify itself would overflow. */
const deep = (depth: number) => '{"x":'.repeat(depth) + '1' + '}'.repeat(depth);
const signal = (extra: Record<string, unknown>) => ({ type: 'gh_ci', repo: 'acme/web', pr: 1, status: 'pass', ...extra });
const withArtifacts = (artifacts: string) => JSON.stringify(signal({})).replace(/}$/, `,"artifacts":${artifacts}}`);

/** Too deep is reported where the limit is crossed, deep inside the field. */
const startsWith = (field: string) => new RegExp(`^${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);

type Case = [name: string, method: string, path: () => string, body: unknown, status: number, field: string];

const cases: Case[] = [
  ['NUL in a signal summary', 'POST', () => '/api/signals/resolve', signal({ summary: NUL }), 422, 'summary'],
  ['NUL in a signal attribute', 'POST', () => '/api/signals/resolve', signal({ branch: NUL }), 422, 'branch'],
  ['NUL in a signal idempotency key', 'POST', () => '/api/signals/resolve', signal({ idempotency_key: NUL }), 422, 'idempotency_key'],
  ['NUL in signal artifacts', 'POST', () => '/api/signals/resolve', signal({ artifacts: { log: [NUL] } }), 422, 'artifacts.log.0'],
  ['NUL in a key of signal artifacts', 'POST', () => '/api/signals/resolve', signal({ artifacts: { 'k\u0000': 1 } }), 422, 'artifacts.k\uFFFD'],
  ['a lone surrogate in a signal attribute', 'POST', () => '/api/signals/resolve', signal({ branch: LONE }), 422, 'branch'],
  ['a lone surrogate in a signal summary', 'POST', () => '/api/signals/resolve', signal({ summary: LONE }), 422, 'summary'],
  ['signal artifacts nested 5,000 deep', 'POST', () => '/api/signals/resolve', withArtifacts(deep(5000)), 422, 'artifacts.x'],
  ['a lone surrogate in a goal title', 'POST', () => '/api/goals', { ...designGoal(), title: LONE }, 422, 'title'],
  ['a lone low surrogate in a goal description', 'POST', () => '/api/goals', { ...designGoal(), description: 'x\udc00' }, 422, 'description'],
  ['a lone surrogate in a task title', 'POST', () => '/api/goals', { ...designGoal(), tasks: [{ key: 'a', title: LONE }] }, 422, 'tasks.0.title'],
  ['NUL in a goal title', 'POST', () => '/api/goals', { ...designGoal(), title: NUL }, 422, 'title'],
  ['goal metadata nested 5,000 deep', 'POST', () => '/api/goals', JSON.stringify(designGoal()).replace(/}$/, `,"metadata":${deep(5000)}}`), 422, 'metadata.x'],
  ['NUL in a completion summary', 'POST', () => `/api/tasks/${runningTaskId}/complete`, { summary: NUL }, 422, 'summary'],
  ['a lone surrogate in a completion summary', 'POST', () => `/api/tasks/${runningTaskId}/complete`, { summary: LONE }, 422, 'summary'],
  ['NUL in completion artifacts', 'POST', () => `/api/tasks/${runningTaskId}/complete`, { artifacts: { a: NUL } }, 422, 'artifacts.a'],
  ['completion artifacts nested 5,000 deep', 'POST', () => `/api/tasks/${runningTaskId}/complete`, `{"artifacts":${deep(5000)}}`, 422, 'artifacts.x'],
  ['NUL in a block reason', 'POST', () => `/api/tasks/${runningTaskId}/block`, { reason: NUL }, 422, 'reason'],
  ['a lone surrogate in a block reason', 'POST', () => `/api/tasks/${runningTaskId}/block`, { reason: LONE }, 422, 'reason'],
  ['NUL in a gate verdict', 'POST', () => `/api/tasks/${waitingGateId}/signal`, { status: 'fail', summary: NUL }, 422, 'summary'],
  ['a goal cursor past any bigint', 'GET', () => '/api/goals?cursor=99999999999999999999999', undefined, 422, 'cursor'],
  ['NUL in the signal type filter', 'GET', () => '/api/signals?type=%00', undefined, 400, 'type'],
  ['NUL in the signal repo filter', 'GET', () => '/api/signals?repo=%00', undefined, 400, 'repo'],
];

describe('malformed input is a 4xx naming the field, and changes nothing', () => {
  it.each(cases)('%s', async (_name, method, path, body, status, field) => {
    const before = await snapshot();
    const res = await call(app, method, path(), body);
    expect({ status: res.status, body: res.json }).toMatchObject({
      status,
      body: { error: expect.stringContaining(field), details: [{ path: expect.stringMatching(startsWith(field)) }], request_id: expect.any(String) },
    });
    expect(await snapshot()).toBe(before);
  });

  it('400 for a body that is not UTF-8, even where the broken bytes sit inside a string', async () => {
    const before = await snapshot();
    const text = new TextEncoder().encode(JSON.stringify({ summary: 'done, really' }));
    const comma = text.indexOf(0x2c);
    // U+D800 written out as UTF-8 bytes (as some encoders do) where the comma was: lenient decoding would make it U+FFFD.
    const body = new Uint8Array([...text.slice(0, comma), 0xed, 0xa0, 0x80, ...text.slice(comma + 1)]);
    const res = await app.request(`/api/tasks/${runningTaskId}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(body.byteLength) },
      body,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'the body is not valid UTF-8', request_id: expect.any(String) });
    expect(await snapshot()).toBe(before);
  });

  it('still takes the same requests without the offending text', async () => {
    expect((await call(app, 'POST', `/api/tasks/${runningTaskId}/complete`, { summary: 'done 😀', artifacts: { deep: JSON.parse(deep(100)) } })).status).toBe(200);
    expect((await call(app, 'GET', '/api/signals?type=gh_ci&repo=acme%2Fweb')).status).toBe(200);
    expect((await call(app, 'GET', '/api/goals?cursor=9223372036854775807')).status).toBe(200);
  });
});

describe('a command that takes no arguments refuses a body it cannot read, before it runs', () => {
  const commands = () => {
    return [
      `/api/goals/${goalOfRunning}/pause`,
      `/api/goals/${goalOfRunning}/cancel`,
      `/api/tasks/${runningTaskId}/retry`,
      `/api/sessions/${sessionOfRunning}/stop`,
    ];
  };
  it.each([
    ['truncated JSON', '{"', 400],
    ['an unknown field', { force: true }, 422],
    ['an array', [], 422],
  ] as const)('%s', async (_name, body, status) => {
    for (const path of commands()) {
      const before = await snapshot();
      const res = await call(app, 'POST', path, body);
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(res.json).toMatchObject({ error: expect.any(String), request_id: expect.any(String) });
      expect(await snapshot()).toBe(before);
    }
  });
});
