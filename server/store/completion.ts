import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { decideAfterFailure, type RetryPolicy, type TaskOutcome } from '../domain/task-rules.js';
import { appendEvents, type NewEvent } from './events.js';
import type { SweepResult } from './batches.js';
import { inTransaction, withEvents } from './transactions.js';
import { fromSqlEvents, propagateFailure, rollUpGoals, taskEvent, type SqlEvent } from './tree-propagation.js';

/**
 * The end of a task's run and everything that follows from it: dependents
 * released or skipped, groups and goals rolled up, retries scheduled.
 *
 * Every write to a running task is fenced by (status = 'running', lease owner,
 * attempt): an instance whose lease expired — and whose task was re-issued,
 * perhaps to another instance — has its late report refused as stale instead
 * of overwriting the newer run.
 */

export interface Completion {
  taskId: string;
  attempt: number;
  outcome: TaskOutcome;
}

export interface CompletionReport {
  applied: string[];
  /** Refused by the fence: the task was no longer this owner's at this attempt. */
  stale: string[];
  /** A group, gate or review became ready: worth an activation pass. */
  holdsReady: boolean;
}

/**
 * Applies a batch of completions in one transaction. Batching is what lets one
 * instance finish thousands of short tasks a second: the propagation below is
 * set-based, so a batch costs a handful of statements, not a handful per task.
 */
export async function completeTasks(
  db: Db,
  owner: string,
  completions: Completion[],
  policy: RetryPolicy,
): Promise<CompletionReport> {
  if (completions.length === 0) return { applied: [], stale: [], holdsReady: false };
  return withEvents(db, async (trx, events) => {
    const report = await applyCompletions(trx, owner, completions, policy, events);
    return report;
  });
}

/** completeTasks inside the caller's transaction; the caller writes `events`. */
export async function applyCompletions(
  trx: Db,
  owner: string,
  completions: Completion[],
  policy: RetryPolicy,
  events: NewEvent[],
): Promise<CompletionReport> {
  const applied: string[] = [];
  let holdsReady = false;

  const successes = completions.filter((c) => c.outcome.kind === 'succeeded');
  if (successes.length > 0) {
    // The update, what it releases (dependents, groups, the subtasks of a run that added some) and the
    // events: arbor_complete_successes (migration 0012), the same function a dispatch hop runs.
    const { rows } = await sql<{ applied: string[]; events: SqlEvent[]; holdsReady: boolean }>`
      SELECT applied, events, holds_ready FROM arbor_complete_successes(${owner}, ${successes.map((c) => c.taskId)}::uuid[],
        ${successes.map((c) => c.attempt)}::int[], ${successes.map((c) => JSON.stringify(c.outcome.result ?? null))}::jsonb[])`.execute(trx);
    applied.push(...rows[0]!.applied);
    events.push(...fromSqlEvents(rows[0]!.events));
    holdsReady = rows[0]!.holdsReady;
  }

  for (const completion of completions) {
    if (completion.outcome.kind === 'succeeded') continue;
    const task = await lockRunningTask(trx, completion.taskId, owner, completion.attempt);
    if (!task) continue;
    applied.push(task.id);
    if (completion.outcome.kind === 'blocked') {
      await trx
        .updateTable('tasks')
        .set({
          status: 'blocked',
          error: completion.outcome.reason,
          result: completion.outcome.result ?? null,
          leaseOwner: null,
          leaseExpiresAt: null,
          updatedAt: sql`now()`,
        })
        .where('id', '=', task.id)
        .execute();
      events.push(taskEvent(task.goalId, task.id, 'running', 'blocked', { reason: completion.outcome.reason }));
    } else {
      await retryOrFail(trx, task, completion.outcome.error, policy, events, completion.outcome.result, { permanent: completion.outcome.permanent ?? false });
    }
  }

  await rollUpGoals(trx, [...new Set(events.map((e) => e.goalId!))], events);
  const appliedSet = new Set(applied);
  return { applied, stale: completions.map((c) => c.taskId).filter((id) => !appliedSet.has(id)), holdsReady };
}

interface RunningTask {
  id: string;
  goalId: string;
  parentId: string | null;
  attempt: number;
  attemptFloor: number;
  maxAttempts: number;
}

async function lockRunningTask(trx: Db, id: string, owner: string, attempt: number): Promise<RunningTask | undefined> {
  return trx
    .selectFrom('tasks')
    .select(['id', 'goalId', 'parentId', 'attempt', 'attemptFloor', 'maxAttempts'])
    .where('id', '=', id)
    .where('status', '=', 'running')
    .where('leaseOwner', '=', owner)
    .where('attempt', '=', attempt)
    .forUpdate()
    .executeTakeFirst();
}

/**
 * A failed attempt: back to pending after a backoff while attempts remain
 * (the error of each try kept in `attempts_log`), else failed for good.
 */
async function retryOrFail(
  trx: Db,
  task: RunningTask,
  error: string,
  policy: RetryPolicy,
  events: NewEvent[],
  result?: unknown,
  options: { now?: boolean; permanent?: boolean } = {},
): Promise<void> {
  const decided = decideAfterFailure(task.attempt - task.attemptFloor, task.maxAttempts, policy, options.permanent ?? false);
  const decision = decided.retry && options.now ? { ...decided, delayMs: 0 } : decided;
  const logEntry = JSON.stringify([{ attempt: task.attempt, error, at: new Date().toISOString() }]);
  if (decision.retry) {
    await trx
      .updateTable('tasks')
      .set({
        status: 'pending',
        error,
        result: (result as object | undefined) ?? null,
        notBefore: sql`now() + make_interval(secs => ${decision.delayMs / 1000})`,
        leaseOwner: null,
        leaseExpiresAt: null,
        attemptsLog: sql`attempts_log || ${logEntry}::jsonb`,
        updatedAt: sql`now()`,
      })
      .where('id', '=', task.id)
      .execute();
    events.push(taskEvent(task.goalId, task.id, 'running', 'pending', { attempt: task.attempt, error, retry_in_ms: decision.delayMs }));
    return;
  }
  await trx
    .updateTable('tasks')
    .set({
      status: 'failed',
      error,
      result: (result as object | undefined) ?? null,
      leaseOwner: null,
      leaseExpiresAt: null,
      attemptsLog: sql`attempts_log || ${logEntry}::jsonb`,
      finishedAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where('id', '=', task.id)
    .execute();
  events.push(taskEvent(task.goalId, task.id, 'running', 'failed', { attempt: task.attempt, error, ...(options.permanent ? { permanent: true } : {}) }));
  await propagateFailure(trx, task, events);
}

/**
 * Leases nobody renewed in time: their owner is gone or stuck. The task goes
 * back to pending (the attempt counts) or fails when none are left; the
 * owner, should it come back, is fenced out by the new attempt number, and
 * the token of the expired run dies now.
 */
export async function expireLeases(db: Db, policy: RetryPolicy, limit = 100): Promise<SweepResult> {
  return withEvents(db, async (trx, events) => {
    const expired = await trx
      .selectFrom('tasks')
      .select(['id', 'goalId', 'parentId', 'attempt', 'attemptFloor', 'maxAttempts', 'leaseOwner'])
      .where('status', '=', 'running')
      .where('leaseExpiresAt', '<', sql<Date>`now()`)
      .orderBy('leaseExpiresAt')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    for (const task of expired) {
      await retryOrFail(trx, task, `lease expired: ${task.leaseOwner} stopped renewing it`, policy, events);
    }
    await revokeRunTokens(trx, expired);
    await rollUpGoals(trx, [...new Set(expired.map((t) => t.goalId))], events);
    return { count: expired.length, more: expired.length === limit };
  });
}

/** Extends this owner's leases; returns the ids it no longer holds (cancelled, expired, re-issued). */
export async function renewLeases(db: Db, owner: string, taskIds: string[], leaseMs: number): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const renewed = await db
    .updateTable('tasks')
    .set({ leaseExpiresAt: sql`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where('id', 'in', taskIds)
    .where('status', '=', 'running')
    .where('leaseOwner', '=', owner)
    .returning('id')
    .execute();
  const held = new Set(renewed.map((r) => r.id));
  return taskIds.filter((id) => !held.has(id));
}

/**
 * Hands running tasks back without blaming them (a graceful shutdown stopped
 * their sessions): pending again, and the interrupted attempt does not count
 * against the task's budget.
 */
export async function releaseTasks(db: Db, owner: string, tasks: { taskId: string; attempt: number }[]): Promise<number> {
  if (tasks.length === 0) return 0;
  return inTransaction(db, async (trx) => {
    const { rows } = await sql<{ id: string; goalId: string }>`
      UPDATE tasks t SET status = 'pending', attempt_floor = t.attempt_floor + 1, lease_owner = NULL,
        lease_expires_at = NULL, not_before = NULL, updated_at = now()
      FROM unnest(${tasks.map((t) => t.taskId)}::uuid[], ${tasks.map((t) => t.attempt)}::int[]) AS v(id, attempt)
      WHERE t.id = v.id AND t.status = 'running' AND t.lease_owner = ${owner} AND t.attempt = v.attempt
      RETURNING t.id, t.goal_id`.execute(trx);
    await appendEvents(
      trx,
      rows.map((r) => taskEvent(r.goalId, r.id, 'running', 'pending', { reason: 'released by a stopping instance' })),
    );
    return rows.length;
  });
}

/**
 * Tasks leased to instances known to be dead (on this host their process is
 * gone; or this very instance id, restarted). Their agents have been ended
 * already, so each is retried now — the attempt counts, as for an expired
 * lease — rather than after its lease runs out.
 */
export async function reclaimTasksOf(db: Db, owners: string[], policy: RetryPolicy): Promise<number> {
  if (owners.length === 0) return 0;
  return withEvents(db, async (trx, events) => {
    const owned = await trx
      .selectFrom('tasks')
      .select(['id', 'goalId', 'parentId', 'attempt', 'attemptFloor', 'maxAttempts', 'leaseOwner'])
      .where('status', '=', 'running')
      .where('leaseOwner', 'in', owners)
      .forUpdate()
      .execute();
    for (const task of owned) {
      await retryOrFail(trx, task, `the instance running it (${task.leaseOwner}) went away`, policy, events, undefined, { now: true });
    }
    await revokeRunTokens(trx, owned);
    await rollUpGoals(trx, [...new Set(owned.map((t) => t.goalId))], events);
    return owned.length;
  });
}

/** The task tokens of runs whose attempt is over without them: their agents may no longer read or report. */
async function revokeRunTokens(trx: Db, runs: readonly { id: string; attempt: number }[]): Promise<void> {
  if (runs.length === 0) return;
  await sql`
    UPDATE sessions s SET token_hash = NULL, updated_at = now()
    FROM unnest(${runs.map((r) => r.id)}::uuid[], ${runs.map((r) => r.attempt)}::int[]) AS v(task_id, attempt)
    WHERE s.task_id = v.task_id AND s.attempt = v.attempt AND s.token_hash IS NOT NULL`.execute(trx);
}
