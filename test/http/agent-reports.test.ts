import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { newTaskToken } from '../../server/sessions/task-token.js';
import { createSession } from '../../server/store/sessions.js';
import { call, testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal } from '../support/orchestration.js';

/**
 * An agent's report counts for its own session and its task's current
 * attempt only. Here an agent of attempt 1 lives on (its Arbor died before it
 * could end it) while attempt 2 runs: its token must not decide attempt 2.
 */

let database: TestDatabase;
let app: ReturnType<typeof testApp>;
let taskId: string;
let stale: { sessionId: string; token: string };
let current: { sessionId: string; token: string };

beforeAll(async () => {
  database = await createTestDatabase();
  // With an API token set, an agent can only speak with its own task token.
  app = testApp(database.db, testConfig({ auth: { apiToken: 'a'.repeat(32) } }));
});
afterAll(() => database.destroy());

beforeEach(async () => {
  const { goal, tasks } = await createGoal(database.db, [{ key: 'a', title: 'A' }]);
  taskId = tasks[0]!.id;
  await database.db.updateTable('tasks').set({ status: 'running', attempt: 2, leaseOwner: 'now', leaseExpiresAt: new Date(Date.now() + 60_000) }).where('id', '=', taskId).execute();
  const open = async (attempt: number) => {
    const { token, hash } = newTaskToken();
    const session = await createSession(database.db, {
      id: randomUUID(),
      goalId: goal.id,
      kind: 'spawned',
      agent: 'command',
      worktreePath: `/tmp/w-${attempt}`,
      branch: 'b',
      baseSha: null,
      taskId,
      attempt,
      owner: attempt === 1 ? 'gone' : 'now',
      host: 'h',
      tokenHash: hash,
    });
    await database.db.updateTable('sessions').set({ status: 'running' }).where('id', '=', session.id).execute();
    return { sessionId: session.id, token };
  };
  stale = await open(1);
  current = await open(2);
});

const reported = async (sessionId: string) =>
  (await database.db.selectFrom('sessions').select('reported').where('id', '=', sessionId).executeTakeFirstOrThrow()).reported;

it("refuses a report from an earlier attempt's agent and records nothing", async () => {
  const res = await call(app, 'POST', `/api/tasks/${taskId}/block`, { reason: 'from the past' }, { authorization: `Bearer ${stale.token}` });
  expect(res.status).toBe(409);
  expect(res.json.error).toMatch(/current attempt/);
  expect(await reported(stale.sessionId)).toBeNull();
  expect(await reported(current.sessionId)).toBeNull();
});

it("records the current attempt's report on its own session only", async () => {
  const res = await call(app, 'POST', `/api/tasks/${taskId}/complete`, { summary: 'done' }, { authorization: `Bearer ${current.token}` });
  expect(res.status).toBe(200);
  expect(await reported(current.sessionId)).toEqual({ kind: 'complete', summary: 'done' });
  expect(await reported(stale.sessionId)).toBeNull();
});

it('a person with the API token reports for the current attempt', async () => {
  const res = await call(app, 'POST', `/api/tasks/${taskId}/block`, { reason: 'needs a key' }, { authorization: `Bearer ${'a'.repeat(32)}` });
  expect(res.status).toBe(200);
  expect(await reported(current.sessionId)).toEqual({ kind: 'block', reason: 'needs a key' });
  expect(await reported(stale.sessionId)).toBeNull();
});
