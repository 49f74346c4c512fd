import type { Db } from '../../server/db/database.js';
import { planGoalTree, type TaskSpec } from '../../server/domain/goal-tree.js';
import { createLogger } from '../../server/logger.js';
import { TaskOrchestrator, type OrchestratorOptions } from '../../server/orchestrator/task-orchestrator.js';
import type { NotificationListener } from '../../server/db/notification-listener.js';
import { applyGoalCommand, insertGoalTree, type NewGoal } from '../../server/store/goals.js';
import { listGoalTasks, type TaskWithDeps } from '../../server/store/tasks.js';
import type { ScriptedRunner } from './scripted-runner.js';

/** Settings that make a test run quick: short polls, leases and backoffs. */
export function fastOptions(overrides: Partial<OrchestratorOptions> = {}): OrchestratorOptions {
  return {
    instanceId: `test-${Math.random().toString(36).slice(2, 8)}`,
    maxSessions: 16,
    leaseMs: 5_000,
    pollIntervalMs: 50,
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    spawnPerSecond: 0,
    spawnBurst: 1,
    stopGraceMs: 2_000,
    ...overrides,
  };
}

export function createOrchestrator(
  db: Db,
  runner: ScriptedRunner,
  overrides: Partial<OrchestratorOptions> = {},
  notifications?: NotificationListener,
) {
  return new TaskOrchestrator({ db, runner, logger: createLogger('silent'), notifications }, fastOptions(overrides));
}

export async function createGoal(
  db: Db,
  tasks: TaskSpec[],
  options: { childrenMode?: 'sequential' | 'parallel'; maxParallel?: number; title?: string } = {},
) {
  const plan = planGoalTree(tasks, options.childrenMode ?? 'sequential', { maxTasks: 100_000, maxDepth: 32 });
  if (!plan.ok) throw new Error(JSON.stringify(plan.errors));
  const goal: NewGoal = {
    title: options.title ?? 'test goal',
    description: '',
    repo: '/tmp/repo',
    baseRef: 'HEAD',
    agent: 'claude',
    childrenMode: options.childrenMode ?? 'sequential',
    maxParallel: options.maxParallel ?? 4,
    metadata: {},
  };
  return insertGoalTree(db, goal, plan.tasks);
}

/** Polls until `check` returns a value (not undefined/false), or fails with `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface ProgressWait<T> {
  /** Returns a value (not undefined/false) once what is awaited has happened. */
  done: () => Promise<T | undefined | false>;
  /** Anything that changes while the work moves on: the wait fails only when it stops changing. */
  progress: () => Promise<string | number>;
  /** How long `progress` may stay the same before the wait gives up. */
  stallMs: number;
  /** What the failure message says about the state the work stalled in. */
  describe?: () => Promise<string>;
  intervalMs?: number;
}

/**
 * Waits for `done` for as long as the work keeps moving: a slow machine gets
 * time, a stuck one fails after `stallMs` without progress, saying where it
 * stopped. For long runs whose length depends on the machine far more than on
 * the code (hundreds of tasks, each a few git processes).
 */
export async function waitWhileProgressing<T>(what: string, wait: ProgressWait<T>): Promise<T> {
  let last = await wait.progress();
  let movedAt = Date.now();
  for (;;) {
    const value = await wait.done();
    if (value !== undefined && value !== false) return value;
    const now = await wait.progress();
    if (now !== last) {
      last = now;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > wait.stallMs) {
      const state = wait.describe ? `; ${await wait.describe()}` : '';
      throw new Error(`no progress for ${Math.round(wait.stallMs / 1000)} s while waiting for ${what} (progress: ${String(now)})${state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, wait.intervalMs ?? 250));
  }
}

export async function goalStatus(db: Db, goalId: string): Promise<string> {
  const row = await db.selectFrom('goals').select('status').where('id', '=', goalId).executeTakeFirstOrThrow();
  return row.status;
}

export async function waitForGoal(db: Db, goalId: string, status: string, timeoutMs?: number): Promise<void> {
  await waitFor(`goal ${goalId} to be ${status}`, async () => (await goalStatus(db, goalId)) === status, timeoutMs);
}

export async function statuses(db: Db, goalId: string): Promise<Record<string, string>> {
  const tasks = await listGoalTasks(db, goalId);
  return Object.fromEntries(tasks.map((t) => [t.key, t.status]));
}

export function byKey(tasks: TaskWithDeps[]): Record<string, TaskWithDeps> {
  return Object.fromEntries(tasks.map((t) => [t.key, t]));
}

/**
 * Waits until the orchestrator has dispatched a one-task probe goal posted
 * now. Claims take older goals first, so once the probe runs, a tick has
 * passed that would also have started anything else that was ready: "nothing
 * else started" can then be checked without waiting a fixed time. Returns
 * the probe's task key, for leaving it out of what the test counts.
 */
export async function afterNextDispatch(db: Db, runner: ScriptedRunner): Promise<string> {
  const key = `probe-${Math.random().toString(36).slice(2, 8)}`;
  const { goal } = await createGoal(db, [{ key, title: 'probe' }], { title: key });
  await waitFor(`the probe goal ${key} to be dispatched`, () => runner.runsOf(key).length > 0);
  // Done with it: cancelled, it can run for no later test on this database.
  await applyGoalCommand(db, goal.id, 'cancel');
  return key;
}
