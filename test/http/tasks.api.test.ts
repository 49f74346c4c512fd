import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeTasks } from '../../server/store/completion.js';
import { claimReadyTasks } from '../../server/store/dispatch.js';
import { applyGoalCommand } from '../../server/store/goals.js';
import { call, rowCounts, testApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { byKey, createGoal, goalStatus, statuses } from '../support/orchestration.js';

let database: TestDatabase;
let app: ReturnType<typeof testApp>;

const OWNER = 'tasks-api-test';
const POLICY = { baseDelayMs: 10, maxDelayMs: 10 };

beforeAll(async () => {
  database = await createTestDatabase();
  app = testApp(database.db);
});
afterAll(() => database.destroy());

/** Claims the ready agent tasks the way the orchestrator does; returns them by key. */
async function claim(capacity = 1) {
  const { claimed } = await claimReadyTasks(database.db, { owner: OWNER, capacity, spawnBudget: capacity, leaseMs: 60_000 });
  return Object.fromEntries(claimed.map(({ task }) => [task.key, task]));
}

async function finish(task: { id: string; attempt: number }, outcome: 'succeeded' | 'failed') {
  const report = await completeTasks(
    database.db,
    OWNER,
    [{ taskId: task.id, attempt: task.attempt, outcome: outcome === 'succeeded' ? { kind: 'succeeded' } : { kind: 'failed', error: 'tests failed' } }],
    POLICY,
  );
  expect(report.applied).toEqual([task.id]);
}

describe('POST /api/tasks/:id/retry', () => {
  it('runs a task that failed for good again and reopens what its failure closed', async () => {
    const created = await createGoal(database.db, [
      { key: 'plan', title: 'Plan' },
      { key: 'build', title: 'Build', max_attempts: 1 },
      { key: 'ship', title: 'Ship' },
    ]);
    const goal = created.goal;
    const tasks = byKey(created.tasks);
    await finish((await claim()).plan!, 'succeeded');
    await finish((await claim()).build!, 'failed');
    expect(await statuses(database.db, goal.id)).toEqual({ plan: 'succeeded', build: 'failed', ship: 'skipped' });
    expect(await goalStatus(database.db, goal.id)).toBe('failed');

    const res = await call(app, 'POST', `/api/tasks/${tasks.build!.id}/retry`);
    expect(res.status).toBe(200);
    expect(res.json.task).toMatchObject({ id: tasks.build!.id, key: 'build', status: 'pending', attempt: 1, max_attempts: 1 });
    // Re-read, not the command's bare row: the dependency is there.
    expect(res.json.task.depends_on).toEqual([tasks.plan!.id]);
    expect(res.json.task.finished_at).toBeNull();
    expect(await statuses(database.db, goal.id)).toEqual({ plan: 'succeeded', build: 'pending', ship: 'pending' });
    expect(await goalStatus(database.db, goal.id)).toBe('running');

    // A fresh budget: the one allowed attempt was used, and it can run again.
    const again = await claim();
    expect(again.build).toMatchObject({ status: 'running', attempt: 2 });
    await finish(again.build!, 'succeeded');
    await finish((await claim()).ship!, 'succeeded');
    expect(await goalStatus(database.db, goal.id)).toBe('succeeded');
  });

  it('404 for an unknown or malformed id, and nothing changes', async () => {
    const before = await rowCounts(database.db);
    const missing = await call(app, 'POST', '/api/tasks/00000000-0000-4000-8000-000000000000/retry');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: 'task not found', request_id: expect.any(String) });
    expect((await call(app, 'POST', '/api/tasks/not-a-uuid/retry')).status).toBe(404);
    expect(await rowCounts(database.db)).toEqual(before);
  });

  it('409 for a task that has not failed, and nothing changes', async () => {
    const { goal, tasks } = await createGoal(database.db, [{ key: 'only', title: 'Only' }]);
    const before = await rowCounts(database.db);
    const res = await call(app, 'POST', `/api/tasks/${tasks[0]!.id}/retry`);
    expect(res.status).toBe(409);
    expect(res.json).toEqual({
      error: 'only a failed or blocked task can be retried; this one is pending',
      request_id: expect.any(String),
    });
    expect(await rowCounts(database.db)).toEqual(before);
    // Claims are database-wide: leave nothing ready behind for the next test.
    await applyGoalCommand(database.db, goal.id, 'cancel');
  });

  it('409 for a failed task of a cancelled goal', async () => {
    // Two parallel tasks fail; retrying one reopens the goal, which is then
    // cancelled: the other is still failed, in a goal that is over.
    const created = await createGoal(
      database.db,
      [
        { key: 'a', title: 'A', max_attempts: 1 },
        { key: 'b', title: 'B', max_attempts: 1 },
      ],
      { childrenMode: 'parallel' },
    );
    const goal = created.goal;
    const tasks = byKey(created.tasks);
    const running = await claim(2);
    expect(Object.keys(running).sort()).toEqual(['a', 'b']);
    await finish(running.a!, 'failed');
    await finish(running.b!, 'failed');
    expect(await goalStatus(database.db, goal.id)).toBe('failed');

    expect((await call(app, 'POST', `/api/tasks/${tasks.a!.id}/retry`)).status).toBe(200);
    expect((await applyGoalCommand(database.db, goal.id, 'cancel')).outcome).toBe('applied');
    expect(await statuses(database.db, goal.id)).toEqual({ a: 'cancelled', b: 'failed' });

    const before = await rowCounts(database.db);
    const res = await call(app, 'POST', `/api/tasks/${tasks.b!.id}/retry`);
    expect(res.status).toBe(409);
    expect(res.json.error).toBe('the goal is cancelled');
    expect(await rowCounts(database.db)).toEqual(before);
  });

  it('is in the OpenAPI document with its error answers', async () => {
    const doc = (await call(app, 'GET', '/openapi.json')).json;
    expect(Object.keys(doc.paths['/api/tasks/{id}/retry'].post.responses).sort()).toEqual(
      ['200', '400', '401', '403', '404', '409', '413', '415', '422'].sort(),
    );
  });
});
