import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationListener } from '../../server/db/notification-listener.js';
import { createLogger } from '../../server/logger.js';
import { completeTasks, expireLeases, renewLeases } from '../../server/store/completion.js';
import { claimReadyTasks } from '../../server/store/dispatch.js';
import { EVENTS_CHANNEL } from '../../server/store/events.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal, createOrchestrator, statuses, waitFor, waitForGoal } from '../support/orchestration.js';
import { ScriptedRunner } from '../support/scripted-runner.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.destroy());

const policy = { baseDelayMs: 0, maxDelayMs: 0 };
const claim = (owner: string, leaseMs = 60_000) =>
  claimReadyTasks(database.db, { owner, capacity: 10, spawnBudget: 10, leaseMs }).then((r) => r.claimed);

describe('leases and fencing', () => {
  it('an expired lease sends the task back, and the stale owner cannot overwrite the re-issued run', async () => {
    const { goal } = await createGoal(database.db, [{ key: 'solo', title: 'S', max_attempts: 3 }]);
    const [first] = (await claim('instance-a', 1)).filter((c) => c.goal.id === goal.id);
    expect(first!.task.attempt).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect((await expireLeases(database.db, policy)).count).toBeGreaterThanOrEqual(1);
    expect((await statuses(database.db, goal.id)).solo).toBe('pending');
    const [second] = (await claim('instance-b')).filter((c) => c.goal.id === goal.id);
    expect(second!.task.attempt).toBe(2);

    // A comes back from the dead and reports: refused.
    const late = await completeTasks(database.db, 'instance-a', [{ taskId: first!.task.id, attempt: 1, outcome: { kind: 'succeeded' } }], policy);
    expect(late).toEqual({ applied: [], stale: [first!.task.id], holdsReady: false });
    // Even with the right owner, an old attempt is refused.
    const oldAttempt = await completeTasks(database.db, 'instance-b', [{ taskId: first!.task.id, attempt: 1, outcome: { kind: 'failed', error: 'x' } }], policy);
    expect(oldAttempt.stale).toEqual([first!.task.id]);
    expect((await statuses(database.db, goal.id)).solo).toBe('running');
    // A's renewal tells it the lease is gone.
    expect(await renewLeases(database.db, 'instance-a', [first!.task.id], 60_000)).toEqual([first!.task.id]);
    expect(await renewLeases(database.db, 'instance-b', [first!.task.id], 60_000)).toEqual([]);

    const current = await completeTasks(database.db, 'instance-b', [{ taskId: first!.task.id, attempt: 2, outcome: { kind: 'succeeded' } }], policy);
    expect(current.applied).toEqual([first!.task.id]);
    await waitForGoal(database.db, goal.id, 'succeeded');
    const expiry = await database.db.selectFrom('events').select('data').where('taskId', '=', first!.task.id).execute();
    expect(expiry.some((e) => String(e.data.error).startsWith('lease expired: instance-a'))).toBe(true);
  });

  it('an orchestrator restarted under the same instance id retries what it was running at once', async () => {
    const runner = new ScriptedRunner(() => ({}));
    const { goal } = await createGoal(database.db, [{ key: 'orphan', title: 'O' }]);
    await claim('stable-id');
    const orchestrator = createOrchestrator(database.db, runner, { instanceId: 'stable-id', leaseMs: 600_000 });
    await orchestrator.start();
    try {
      await waitForGoal(database.db, goal.id, 'succeeded');
      expect(runner.runsOf('orphan').map((r) => r.attempt)).toEqual([2]);
    } finally {
      await orchestrator.stop();
    }
  });

  it('a stopping instance hands its running tasks back without spending an attempt', async () => {
    const runner = new ScriptedRunner(() => ({ hold: true }));
    const { goal } = await createGoal(database.db, [{ key: 'long', title: 'L', max_attempts: 1 }]);
    const orchestrator = createOrchestrator(database.db, runner);
    await orchestrator.start();
    await waitFor('the run', () => runner.heldTaskIds().length === 1);
    await orchestrator.stop();
    const task = await database.db.selectFrom('tasks').selectAll().where('goalId', '=', goal.id).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ status: 'pending', attempt: 1, attemptFloor: 1, leaseOwner: null });

    // With max_attempts 1, the next run is still allowed: the interruption was not the task's fault.
    const next = new ScriptedRunner(() => ({ outcome: { kind: 'failed', error: 'real failure' } }));
    const second = createOrchestrator(database.db, next);
    await second.start();
    try {
      await waitForGoal(database.db, goal.id, 'failed');
      expect(next.runs).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });
});

describe('several instances on one database', () => {
  it('dispatch 1,000 tasks exactly once between two orchestrators', async () => {
    const tasks = Array.from({ length: 1000 }, (_, i) => ({ key: `t${i}`, title: 'T' }));
    const { goal } = await createGoal(database.db, tasks, { childrenMode: 'parallel', maxParallel: 1000 });
    const runners = [new ScriptedRunner(() => ({ delayMs: 1 })), new ScriptedRunner(() => ({ delayMs: 1 }))];
    const instances = runners.map((r, i) => createOrchestrator(database.db, r, { instanceId: `multi-${i}`, maxSessions: 50 }));
    await Promise.all(instances.map((o) => o.start()));
    try {
      await waitForGoal(database.db, goal.id, 'succeeded', 60_000);
    } finally {
      await Promise.all(instances.map((o) => o.stop()));
    }
    const runs = runners.flatMap((r) => r.runs);
    expect(runs).toHaveLength(1000);
    expect(new Set(runs.map((r) => r.taskId)).size).toBe(1000);
    // Both took part: the work was shared, not serialized behind one of them.
    expect(runners[0]!.runs.length).toBeGreaterThan(0);
    expect(runners[1]!.runs.length).toBeGreaterThan(0);
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM events WHERE goal_id = ${goal.id} AND task_id IS NOT NULL AND data->>'to' = 'running'`.execute(database.db);
    expect(rows[0]!.n).toBe(1000);
  });
});

describe('wake-ups', () => {
  it('a new goal is dispatched on its NOTIFY, long before the next poll', async () => {
    const listener = new NotificationListener(database.url, EVENTS_CHANNEL, createLogger('silent'));
    await listener.start();
    const runner = new ScriptedRunner(() => ({}));
    const orchestrator = createOrchestrator(database.db, runner, { pollIntervalMs: 60_000 }, listener);
    await orchestrator.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { goal } = await createGoal(database.db, [{ key: 'a', title: 'A' }, { key: 'b', title: 'B' }]);
      await waitForGoal(database.db, goal.id, 'succeeded', 10_000);

      // The listening connection dies; after reconnecting, the orchestrator catches up.
      await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'arbor-listener' AND datname = current_database()`.execute(
        database.db,
      );
      const { goal: later } = await createGoal(database.db, [{ key: 'c', title: 'C' }]);
      await waitForGoal(database.db, later.id, 'succeeded', 10_000);
    } finally {
      await orchestrator.stop();
      await listener.stop();
    }
  });
});

describe('recording successes', () => {
  // One success takes a statement of its own (a cached plan on the primary key), several one planned per
  // call (migration 0016): both must end a run the same way, fencing included.
  async function endRuns(batch: boolean) {
    const owner = `owner-${batch ? 'batch' : 'single'}`;
    const { goal } = await createGoal(
      database.db,
      [
        { key: 'plain', title: 'Plain' },
        { key: 'review', title: 'Review', requires_approval: true },
        { key: 'fenced', title: 'Fenced' },
        { key: 'next', title: 'Next', depends_on: ['plain'] },
      ],
      { childrenMode: 'parallel' },
    );
    const claimed = (await claim(owner)).filter((c) => c.goal.id === goal.id);
    const run = (key: string) => claimed.find((c) => c.task.key === key)!.task;
    const completions = ['plain', 'review', 'fenced'].map((key) => ({
      taskId: run(key).id,
      // A run the lease no longer belongs to (an older attempt): refused.
      attempt: key === 'fenced' ? run(key).attempt + 1 : run(key).attempt,
      outcome: { kind: 'succeeded' as const, result: { summary: `${key} done` } },
    }));
    const applied: string[] = [];
    for (const part of batch ? [completions] : completions.map((c) => [c])) {
      applied.push(...(await completeTasks(database.db, owner, part, policy)).applied);
    }
    const rows = await database.db.selectFrom('tasks').select(['key', 'status', 'result', 'unmetDeps', 'finishedAt']).where('goalId', '=', goal.id).orderBy('key').execute();
    return {
      applied: applied.map((id) => claimed.find((c) => c.task.id === id)!.task.key).sort(),
      tasks: rows.map((r) => ({ key: r.key, status: r.status, result: r.result, unmetDeps: r.unmetDeps, finished: r.finishedAt !== null })),
    };
  }

  it('ends runs alike whether they come one at a time or in a batch', async () => {
    const single = await endRuns(false);
    const batch = await endRuns(true);
    expect(single.applied).toEqual(['plain', 'review']);
    expect(single.tasks).toEqual([
      { key: 'fenced', status: 'running', result: null, unmetDeps: 0, finished: false },
      { key: 'next', status: 'pending', result: null, unmetDeps: 0, finished: false },
      { key: 'plain', status: 'succeeded', result: { summary: 'plain done' }, unmetDeps: 0, finished: true },
      { key: 'review', status: 'review', result: { summary: 'review done' }, unmetDeps: 0, finished: false },
    ]);
    expect(batch).toEqual(single);
  });
});
