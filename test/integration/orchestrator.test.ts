import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TaskOrchestrator } from '../../server/orchestrator/task-orchestrator.js';
import type { SessionAssignment } from '../../server/orchestrator/session-runner.js';
import { applyGoalCommand, getGoal } from '../../server/store/goals.js';
import { passHold, retryTask } from '../../server/store/task-commands.js';
import { listGoalTasks } from '../../server/store/tasks.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { afterNextDispatch, byKey, createGoal, createOrchestrator, statuses, waitFor, waitForGoal } from '../support/orchestration.js';
import { ScriptedRunner } from '../support/scripted-runner.js';

let database: TestDatabase;
const orchestrators: TaskOrchestrator[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(orchestrators.splice(0).map((o) => o.stop()));
});
afterAll(() => database.destroy());

async function startWith(runner: ScriptedRunner, overrides: Parameters<typeof createOrchestrator>[2] = {}) {
  const orchestrator = createOrchestrator(database.db, runner, overrides);
  orchestrators.push(orchestrator);
  await orchestrator.start();
  return orchestrator;
}

const chain = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, title: `T${i}` }));

describe('dispatch order', () => {
  it('runs a sequential chain one after another, in order', async () => {
    const runner = new ScriptedRunner(() => ({ delayMs: 5 }));
    const { goal } = await createGoal(database.db, chain(5));
    await startWith(runner);
    await waitForGoal(database.db, goal.id, 'succeeded');
    expect(runner.runs.map((r) => r.key)).toEqual(['t0', 't1', 't2', 't3', 't4']);
    for (let i = 1; i < runner.runs.length; i++) {
      expect(runner.runs[i]!.startedAt).toBeGreaterThanOrEqual(runner.runs[i - 1]!.endedAt!);
    }
    expect(runner.maxConcurrent).toBe(1);
  });

  it('hands the runner its task and goal as stored, the task leased to this instance', async () => {
    const seen: SessionAssignment[] = [];
    const runner = new ScriptedRunner((a) => {
      seen.push(a);
      return {};
    });
    const { goal } = await createGoal(database.db, chain(2));
    const orchestrator = await startWith(runner);
    await waitForGoal(database.db, goal.id, 'succeeded');
    const stored = (await getGoal(database.db, goal.id))!;
    expect(seen).toHaveLength(2);
    for (const { task, goal: handed } of seen) {
      // What a run does not change is handed over exactly as a read of the goal returns it.
      const { status: _s, updatedAt: _u, startedAt: _st, finishedAt: _f, ...rest } = stored;
      expect(handed).toMatchObject(rest);
      expect(handed.createdAt).toBeInstanceOf(Date);
      expect(handed.status).toBe('running');
      expect(task).toMatchObject({ goalId: goal.id, status: 'running', attempt: 1, leaseOwner: orchestrator.instanceId });
      expect(task.leaseExpiresAt).toBeInstanceOf(Date);
    }
  });

  it('fans out parallel tasks up to max_parallel', async () => {
    const runner = new ScriptedRunner(() => ({ delayMs: 30 }));
    const { goal } = await createGoal(database.db, chain(10), { childrenMode: 'parallel', maxParallel: 3 });
    await startWith(runner);
    await waitForGoal(database.db, goal.id, 'succeeded');
    expect(runner.runs).toHaveLength(10);
    expect(runner.maxConcurrentByGoal.get(goal.id)).toBe(3);
  });

  it('waits for both sides of a diamond', async () => {
    const runner = new ScriptedRunner((a) => ({ delayMs: a.task.key === 'left' ? 40 : 5 }));
    const { goal } = await createGoal(
      database.db,
      [
        { key: 'top', title: 'Top' },
        { key: 'left', title: 'L', depends_on: ['top'] },
        { key: 'right', title: 'R', depends_on: ['top'] },
        { key: 'bottom', title: 'B', depends_on: ['left', 'right'] },
      ],
      { childrenMode: 'parallel' },
    );
    await startWith(runner);
    await waitForGoal(database.db, goal.id, 'succeeded');
    const [bottom] = runner.runsOf('bottom');
    expect(bottom!.startedAt).toBeGreaterThanOrEqual(runner.runsOf('left')[0]!.endedAt!);
    expect(bottom!.startedAt).toBeGreaterThanOrEqual(runner.runsOf('right')[0]!.endedAt!);
    expect(runner.runsOf('left')[0]!.startedAt).toBeLessThan(runner.runsOf('right')[0]!.endedAt!);
  });

  it('rolls nested groups up, and holds gates and reviews without a session', async () => {
    const runner = new ScriptedRunner(() => ({ delayMs: 5 }));
    const { goal, tasks } = await createGoal(database.db, [
      { key: 'plan', title: 'Plan' },
      {
        key: 'build',
        title: 'Build',
        children_mode: 'parallel',
        children: [
          { key: 'api', title: 'API' },
          { key: 'ui', title: 'UI', children: [{ key: 'ui1', title: 'UI 1' }, { key: 'ui2', title: 'UI 2' }] },
        ],
      },
      { key: 'ci', title: 'CI', kind: 'wait_for_signal', gate: { type: 'gh_ci', repo: 'a/b', pr: 1 } },
      { key: 'ok', title: 'OK', kind: 'human_review' },
    ]);
    const ids = byKey(tasks);
    await startWith(runner);
    await waitFor('the gate to wait', async () => (await statuses(database.db, goal.id)).ci === 'waiting');
    expect(await statuses(database.db, goal.id)).toMatchObject({
      plan: 'succeeded',
      build: 'succeeded',
      api: 'succeeded',
      ui: 'succeeded',
      ui1: 'succeeded',
      ui2: 'succeeded',
      ci: 'waiting',
      ok: 'pending',
    });
    expect(runner.runs.map((r) => r.key).sort()).toEqual(['api', 'plan', 'ui1', 'ui2']);
    expect(runner.runsOf('ui2')[0]!.startedAt).toBeGreaterThanOrEqual(runner.runsOf('ui1')[0]!.endedAt!);

    expect((await passHold(database.db, ids.ci!.id, 'waiting')).outcome).toBe('applied');
    await waitFor('the review', async () => (await statuses(database.db, goal.id)).ok === 'review');
    expect((await passHold(database.db, ids.ok!.id, 'review')).outcome).toBe('applied');
    await waitForGoal(database.db, goal.id, 'succeeded');
    expect(runner.runs).toHaveLength(4);
  });

  it('keeps the pinned lane to one task at a time while spawned work runs beside it', async () => {
    const runner = new ScriptedRunner(() => ({ delayMs: 20 }));
    const pinned = Array.from({ length: 4 }, (_, i) => ({ key: `p${i}`, title: 'P', session_policy: 'pinned' as const }));
    const spawned = Array.from({ length: 4 }, (_, i) => ({ key: `s${i}`, title: 'S', session_policy: 'spawn' as const }));
    const { goal } = await createGoal(database.db, [...pinned, ...spawned], { childrenMode: 'parallel', maxParallel: 8 });
    await startWith(runner);
    await waitForGoal(database.db, goal.id, 'succeeded');
    expect(runner.maxPinnedByGoal.get(goal.id)).toBe(1);
    expect(runner.maxConcurrentByGoal.get(goal.id)).toBeGreaterThan(1);
    // In tree order.
    expect(runner.runs.filter((r) => r.route === 'pinned').map((r) => r.key)).toEqual(['p0', 'p1', 'p2', 'p3']);
  });
});

describe('failures', () => {
  it('retries a failed task after a backoff, keeping each attempt', async () => {
    const runner = new ScriptedRunner((a) => ({
      outcome: a.attempt === 1 ? { kind: 'failed', error: 'flaky test' } : { kind: 'succeeded' },
    }));
    const { goal } = await createGoal(database.db, [{ key: 'flaky', title: 'F' }]);
    await startWith(runner, { retry: { baseDelayMs: 150, maxDelayMs: 1000 } });
    await waitForGoal(database.db, goal.id, 'succeeded');
    expect(runner.runsOf('flaky').map((r) => r.attempt)).toEqual([1, 2]);
    const [task] = await listGoalTasks(database.db, goal.id);
    expect(task!.attempt).toBe(2);
    expect(task!.attemptsLog).toEqual([expect.objectContaining({ attempt: 1, error: 'flaky test' })]);
    // The database's own clock: the second attempt started no earlier than the backoff allowed.
    const events = await database.db
      .selectFrom('events')
      .select(['at', 'data'])
      .where('taskId', '=', task!.id)
      .orderBy('id')
      .execute();
    const failedAt = events.find((e) => e.data.to === 'pending')!.at.getTime();
    const secondStart = events.filter((e) => e.data.to === 'running')[1]!.at.getTime();
    expect(secondStart - failedAt).toBeGreaterThanOrEqual(150);
  });

  it('fails the task when attempts run out: dependents skipped, goal failed, running siblings finish', async () => {
    const runner = new ScriptedRunner((a) =>
      a.task.key === 'bad' ? { outcome: { kind: 'failed', error: 'broken' } } : a.task.key === 'slow' ? { hold: true } : {},
    );
    const { goal } = await createGoal(
      database.db,
      [
        { key: 'slow', title: 'Slow' },
        { key: 'bad', title: 'Bad', max_attempts: 2 },
        { key: 'after', title: 'After', depends_on: ['bad'] },
        { key: 'later', title: 'Later', depends_on: ['after'] },
        { key: 'unrelated', title: 'U', depends_on: ['slow'] },
      ],
      { childrenMode: 'parallel' },
    );
    await startWith(runner, { retry: { baseDelayMs: 10, maxDelayMs: 10 } });
    await waitForGoal(database.db, goal.id, 'failed');
    expect(await statuses(database.db, goal.id)).toMatchObject({ bad: 'failed', after: 'skipped', later: 'skipped', slow: 'running' });
    expect(runner.runsOf('bad')).toHaveLength(2);

    const slow = runner.runsOf('slow')[0]!;
    runner.release(slow.taskId);
    await waitFor('slow to finish', async () => (await statuses(database.db, goal.id)).slow === 'succeeded');
    // Nothing new starts in a failed goal.
    await afterNextDispatch(database.db, runner);
    expect((await statuses(database.db, goal.id)).unrelated).toBe('pending');
    expect(runner.runsOf('unrelated')).toHaveLength(0);
  });

  it('a retry re-runs a failed task, un-skips its dependents and reopens the goal', async () => {
    let broken = true;
    const runner = new ScriptedRunner((a) => (a.task.key === 'bad' && broken ? { outcome: { kind: 'failed', error: 'nope' } } : {}));
    const { goal, tasks } = await createGoal(database.db, [
      { key: 'grp', title: 'G', children: [{ key: 'bad', title: 'Bad', max_attempts: 1 }] },
      { key: 'after', title: 'After' },
    ]);
    await startWith(runner);
    await waitForGoal(database.db, goal.id, 'failed');
    expect(await statuses(database.db, goal.id)).toEqual({ grp: 'failed', bad: 'failed', after: 'skipped' });

    broken = false;
    const result = await retryTask(database.db, byKey(tasks).bad!.id);
    expect(result.outcome).toBe('applied');
    await waitForGoal(database.db, goal.id, 'succeeded');
    expect(await statuses(database.db, goal.id)).toEqual({ grp: 'succeeded', bad: 'succeeded', after: 'succeeded' });
    expect(runner.runsOf('bad').map((r) => r.attempt)).toEqual([1, 2]);
    expect((await retryTask(database.db, byKey(tasks).bad!.id)).outcome).toBe('conflict');
  });

  it('holds a blocked task until a person retries it', async () => {
    let blocked = true;
    const runner = new ScriptedRunner(() => (blocked ? { outcome: { kind: 'blocked', reason: 'needs a credential' } } : {}));
    const { goal, tasks } = await createGoal(database.db, chain(2));
    await startWith(runner);
    await waitFor('the block', async () => (await statuses(database.db, goal.id)).t0 === 'blocked');
    const [t0] = await listGoalTasks(database.db, goal.id);
    expect(t0!.error).toBe('needs a credential');
    blocked = false;
    await retryTask(database.db, byKey(tasks).t0!.id);
    await waitForGoal(database.db, goal.id, 'succeeded');
  });
});

describe('goal control', () => {
  it('pause stops new dispatch while running work finishes; resume goes on', async () => {
    const runner = new ScriptedRunner(() => ({ hold: true }));
    const { goal } = await createGoal(database.db, chain(3));
    await startWith(runner);
    await waitFor('t0 to run', () => runner.heldTaskIds().length === 1);
    await applyGoalCommand(database.db, goal.id, 'pause');
    runner.release(runner.heldTaskIds()[0]!);
    await waitFor('t0 to succeed', async () => (await statuses(database.db, goal.id)).t0 === 'succeeded');
    const probe = await afterNextDispatch(database.db, runner);
    expect(runner.runs.filter((r) => r.key !== probe)).toHaveLength(1);
    expect(await statuses(database.db, goal.id)).toEqual({ t0: 'succeeded', t1: 'pending', t2: 'pending' });

    runner.setScript(() => ({}));
    await applyGoalCommand(database.db, goal.id, 'resume');
    await waitForGoal(database.db, goal.id, 'succeeded');
    expect(runner.runs.map((r) => r.key).filter((k) => k !== probe)).toEqual(['t0', 't1', 't2']);
  });

  it('cancel stops running sessions and cancels every open task', async () => {
    const runner = new ScriptedRunner(() => ({ hold: true }));
    const { goal } = await createGoal(database.db, chain(4), { childrenMode: 'parallel', maxParallel: 2 });
    await startWith(runner);
    await waitFor('two runs', () => runner.heldTaskIds().length === 2);
    await applyGoalCommand(database.db, goal.id, 'cancel');
    await waitFor('sessions to be stopped', () => runner.runs.every((r) => r.aborted));
    expect(Object.values(await statuses(database.db, goal.id))).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(runner.runs).toHaveLength(2);
  });
});

describe('limits', () => {
  it('never runs more sessions than the instance allows, across goals', async () => {
    const runner = new ScriptedRunner(() => ({ delayMs: 15 }));
    const a = await createGoal(database.db, chain(6, 'a'), { childrenMode: 'parallel', maxParallel: 6 });
    const b = await createGoal(database.db, chain(6, 'b'), { childrenMode: 'parallel', maxParallel: 6 });
    await startWith(runner, { maxSessions: 3 });
    await waitForGoal(database.db, a.goal.id, 'succeeded');
    await waitForGoal(database.db, b.goal.id, 'succeeded');
    expect(runner.maxConcurrent).toBe(3);
    expect(runner.runs).toHaveLength(12);
  });

  it('holds spawned sessions to the spawn rate', async () => {
    const runner = new ScriptedRunner(() => ({ hold: true }));
    await createGoal(database.db, chain(6, 's'), { childrenMode: 'parallel', maxParallel: 6 });
    await startWith(runner, { spawnPerSecond: 0.001, spawnBurst: 2 });
    await waitFor('the burst', () => runner.runs.length === 2);
    // The probe is pinned (a task alone in its goal): it needs no spawn budget.
    const probe = await afterNextDispatch(database.db, runner);
    expect(runner.runs.filter((r) => r.key !== probe)).toHaveLength(2);
  });
});
