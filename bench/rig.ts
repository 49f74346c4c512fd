import { randomBytes } from 'node:crypto';
import type { Db } from '../server/db/database.js';
import type { NotificationListener } from '../server/db/notification-listener.js';
import { planGoalTree, type TaskSpec } from '../server/domain/goal-tree.js';
import { TERMINAL_GOAL_STATUSES, type ChildrenMode, type GoalStatus } from '../server/domain/states.js';
import type { Logger } from '../server/logger.js';
import type { SessionRunner } from '../server/orchestrator/session-runner.js';
import { TaskOrchestrator, type OrchestratorOptions } from '../server/orchestrator/task-orchestrator.js';
import { insertGoalTree } from '../server/store/goals.js';
import { ScriptedRunner } from '../test/support/scripted-runner.js';
import type { Cleanup } from './cleanup.js';

/**
 * The pieces every measurement shares: one database, one LISTEN connection
 * that wakes the orchestrator, and helpers to run an orchestrator with an
 * in-process runner whose tasks succeed at once — so what is timed is Arbor's
 * own scheduling and bookkeeping, not any agent.
 */

export interface Rig {
  db: Db;
  cleanup: Cleanup;
  listener: NotificationListener;
  logger: Logger;
}

/** As a production instance would run, but with no spawn rate limit and room for 1,000 sessions. */
export function benchOptions(label: string): OrchestratorOptions {
  return {
    instanceId: `bench-${label}-${randomBytes(3).toString('hex')}`,
    maxSessions: 1000,
    leaseMs: 30_000,
    pollIntervalMs: 1000,
    retry: { baseDelayMs: 1000, maxDelayMs: 10_000 },
    spawnPerSecond: 0,
    spawnBurst: 1,
    stopGraceMs: 2000,
  };
}

/** Runs `work` with a started orchestrator (woken by NOTIFY) and a fresh runner; always stops it. */
export async function withOrchestrator<T>(rig: Rig, label: string, work: (runner: ScriptedRunner) => Promise<T>): Promise<T> {
  const runner = new ScriptedRunner(() => ({ outcome: { kind: 'succeeded' } }));
  return withRunningOrchestrator(rig, label, runner, benchOptions(label), () => work(runner));
}

/** Runs `work` with an orchestrator over `runner`, started and woken by NOTIFY; always stops it. */
export async function withRunningOrchestrator<T>(
  rig: Rig,
  label: string,
  runner: SessionRunner,
  options: OrchestratorOptions,
  work: () => Promise<T>,
): Promise<T> {
  const orchestrator = new TaskOrchestrator({ db: rig.db, runner, logger: rig.logger, notifications: rig.listener }, options);
  // Stopped before the pool closes, also when a signal cuts the bench short.
  const stop = rig.cleanup.add(`stop the ${label} orchestrator`, () => orchestrator.stop());
  await orchestrator.start();
  try {
    return await work();
  } finally {
    await stop();
  }
}

/** Plans and stores a goal the way the API does (planGoalTree, then insertGoalTree); returns its id. */
export async function createGoal(
  db: Db,
  title: string,
  tasks: TaskSpec[],
  childrenMode: ChildrenMode,
  maxParallel: number,
): Promise<string> {
  const plan = planGoalTree(tasks, childrenMode, { maxTasks: Math.max(tasks.length, 1), maxDepth: 32 });
  if (!plan.ok) throw new Error(`goal plan rejected: ${JSON.stringify(plan.errors.slice(0, 3))}`);
  const { goal } = await insertGoalTree(
    db,
    { title, description: '', repo: '/tmp/arbor-bench-repo', baseRef: 'HEAD', agent: 'claude', childrenMode, maxParallel, metadata: {} },
    plan.tasks,
  );
  return goal.id;
}

export function leafTasks(count: number, prefix: string): TaskSpec[] {
  return Array.from({ length: count }, (_, i) => ({ key: `${prefix}-${i}`, title: `${prefix} ${i}` }));
}

/**
 * Resolves when the goal has finished, with the moment that was seen.
 *
 * The watcher must not load the system it times: until `mayBeDone` says the
 * goal could have finished (every task has had its run), only a slow poll
 * looks, to notice a goal that failed. After that the goal row is read on
 * every notification — the commit that rolls the goal up sends one — so the
 * end is seen within a round trip of it.
 */
export function waitForGoalEnd(
  rig: Rig,
  goalId: string,
  timeoutMs: number,
  mayBeDone: () => boolean = () => true,
): Promise<{ status: GoalStatus; at: number }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let reading = false;
    let readAgain = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      clearTimeout(deadline);
      rig.listener.off('notification', onNotification);
      fn();
    };
    // One read at a time: a burst of notifications becomes at most one more read.
    async function check(): Promise<void> {
      if (settled) return;
      if (reading) {
        readAgain = true;
        return;
      }
      reading = true;
      try {
        do {
          readAgain = false;
          const row = await rig.db.selectFrom('goals').select('status').where('id', '=', goalId).executeTakeFirstOrThrow();
          if (TERMINAL_GOAL_STATUSES.includes(row.status)) {
            const at = performance.now();
            settle(() => resolve({ status: row.status, at }));
            return;
          }
        } while (readAgain && !settled);
      } catch (err) {
        settle(() => reject(err));
      } finally {
        reading = false;
      }
    }
    const onNotification = () => {
      if (mayBeDone()) void check();
    };
    const poll = setInterval(() => void check(), 1000);
    const deadline = setTimeout(
      () => settle(() => reject(new Error(`goal ${goalId} did not finish within ${timeoutMs} ms`))),
      timeoutMs,
    );
    rig.listener.on('notification', onNotification);
    onNotification();
  });
}

/** True once `tasks` runs of the goal have returned: only then can the goal have succeeded. */
export function allRunsReturned(runner: ScriptedRunner, goalId: string, tasks: number): () => boolean {
  return () => {
    let ended = 0;
    for (const run of runner.runs) if (run.goalId === goalId && run.endedAt !== undefined) ended += 1;
    return ended >= tasks;
  };
}
