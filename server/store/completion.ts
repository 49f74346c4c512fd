import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { decideAfterFailure, type RetryPolicy, type TaskOutcome } from '../domain/task-rules.js';
import { appendEvents, type NewEvent } from './events.js';
import { inTransaction } from './transactions.js';

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

const UNFINISHED = sql.raw(`('succeeded', 'skipped')`);

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
  return inTransaction(db, async (trx) => {
    const events: NewEvent[] = [];
    const report = await applyCompletions(trx, owner, completions, policy, events);
    await appendEvents(trx, events);
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
    const { rows } = await sql<{ id: string; goalId: string; parentId: string | null; status: 'succeeded' | 'review'; attempt: number }>`
      UPDATE tasks t SET
        status = CASE WHEN t.requires_approval THEN 'review' ELSE 'succeeded' END,
        result = v.result, error = NULL, lease_owner = NULL, lease_expires_at = NULL,
        finished_at = CASE WHEN t.requires_approval THEN NULL ELSE now() END, updated_at = now()
      FROM unnest(${successes.map((c) => c.taskId)}::uuid[], ${successes.map((c) => c.attempt)}::int[],
                  ${successes.map((c) => JSON.stringify(c.outcome.result ?? null))}::jsonb[]) AS v(id, attempt, result)
      WHERE t.id = v.id AND t.status = 'running' AND t.lease_owner = ${owner} AND t.attempt = v.attempt
      RETURNING t.id, t.goal_id, t.parent_id, t.status, t.attempt`.execute(trx);
    for (const row of rows) {
      applied.push(row.id);
      events.push(taskEvent(row.goalId, row.id, 'running', row.status, { attempt: row.attempt }));
    }
    const succeeded = rows.filter((r) => r.status === 'succeeded');
    holdsReady = (await releaseDependents(trx, succeeded, events)).holdsReady;
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
      await retryOrFail(trx, task, completion.outcome.error, policy, events, completion.outcome.result, completion.outcome.permanent);
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
  permanent = false,
): Promise<void> {
  const decision = decideAfterFailure(task.attempt - task.attemptFloor, task.maxAttempts, policy, permanent);
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
  events.push(taskEvent(task.goalId, task.id, 'running', 'failed', { attempt: task.attempt, error, ...(permanent ? { permanent } : {}) }));
  await propagateFailure(trx, task, events);
}

/**
 * A task failed for good: everything that waits on it (transitively) is
 * skipped, its enclosing groups fail, and so does its goal. Tasks already
 * running elsewhere in the goal finish; nothing new starts, because a failed
 * goal is not open for dispatch.
 */
export async function propagateFailure(trx: Db, task: { id: string; goalId: string; parentId: string | null }, events: NewEvent[]): Promise<void> {
  const failed = [task.id];
  let parentId = task.parentId;
  while (parentId) {
    const parent = await trx
      .updateTable('tasks')
      .set({ status: 'failed', error: 'a task in this group failed', finishedAt: sql`now()`, updatedAt: sql`now()` })
      .where('id', '=', parentId)
      .where('status', 'in', ['pending', 'running'])
      .returning(['id', 'goalId', 'parentId'])
      .executeTakeFirst();
    if (!parent) break;
    events.push(taskEvent(parent.goalId, parent.id, 'running', 'failed', { because: task.id }));
    failed.push(parent.id);
    parentId = parent.parentId;
  }

  // What waited on the task or on a group that failed with it.
  let frontier = failed;
  while (frontier.length > 0) {
    const { rows } = await sql<{ id: string; goalId: string }>`
      UPDATE tasks t SET status = 'skipped', finished_at = now(), updated_at = now()
      WHERE t.status = 'pending'
        AND t.id IN (SELECT task_id FROM task_dependencies WHERE depends_on_id = ANY(${frontier}::uuid[]))
      RETURNING t.id, t.goal_id`.execute(trx);
    for (const row of rows) events.push(taskEvent(row.goalId, row.id, 'pending', 'skipped', { because: task.id }));
    frontier = rows.map((r) => r.id);
  }

  const goal = await trx
    .updateTable('goals')
    .set({ status: 'failed', finishedAt: sql`now()`, updatedAt: sql`now()` })
    .where('id', '=', task.goalId)
    .where('status', 'in', ['pending', 'running', 'paused'])
    .returning('id')
    .executeTakeFirst();
  if (goal) events.push({ type: 'goal.status_changed', goalId: goal.id, data: { to: 'failed', because: task.id } });
}

/**
 * Tasks that just succeeded: each dependent has one fewer unmet dependency,
 * and a group whose children are now all done succeeds in turn — which
 * releases its own dependents and may finish its parent. A loop over levels of
 * the tree, never recursion.
 */
export async function releaseDependents(
  trx: Db,
  succeeded: readonly { id: string; parentId: string | null }[],
  events: NewEvent[],
): Promise<{ holdsReady: boolean }> {
  let done = succeeded;
  let holdsReady = false;
  while (done.length > 0) {
    const ids = done.map((t) => t.id);
    const { rows: released } = await sql<{ ready: boolean }>`
      UPDATE tasks t SET unmet_deps = t.unmet_deps - x.n, updated_at = now()
      FROM (SELECT task_id, count(*)::int AS n FROM task_dependencies
            WHERE depends_on_id = ANY(${ids}::uuid[]) GROUP BY task_id) x
      WHERE t.id = x.task_id
      RETURNING (t.kind <> 'agent' AND t.unmet_deps = 0) AS ready`.execute(trx);
    holdsReady ||= released.some((r) => r.ready);
    const parents = [...new Set(done.map((t) => t.parentId).filter((p): p is string => p !== null))].sort();
    if (parents.length === 0) break;
    await lockParents(trx, parents);
    const { rows: groups } = await sql<{ id: string; goalId: string; parentId: string | null }>`
      UPDATE tasks p SET status = 'succeeded', finished_at = now(), updated_at = now()
      WHERE p.id = ANY(${parents}::uuid[])
        AND p.kind = 'group' AND p.status IN ('pending', 'running')
        AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = p.id AND c.status NOT IN ${UNFINISHED})
      RETURNING p.id, p.goal_id, p.parent_id`.execute(trx);
    for (const group of groups) events.push(taskEvent(group.goalId, group.id, 'running', 'succeeded', {}));
    done = groups;
  }
  return { holdsReady };
}

/**
 * Roll-ups ask "is anything else still unfinished?". Two transactions that
 * finish the last two children of one group (or the last tasks of one goal)
 * would each see the other's task still running and neither would roll up.
 * Locking the parent first serializes them: whoever locks second runs its
 * check on a fresh snapshot that includes the first one's commit. Locks are
 * taken in id order so that completions cannot deadlock one another.
 */
async function lockParents(trx: Db, parentIds: string[]): Promise<void> {
  await sql`SELECT id FROM tasks WHERE id = ANY(${parentIds}::uuid[]) ORDER BY id FOR NO KEY UPDATE`.execute(trx);
}

/** A goal succeeds when every one of its tasks succeeded or was skipped. */
export async function rollUpGoals(trx: Db, goalIds: string[], events: NewEvent[]): Promise<void> {
  if (goalIds.length === 0) return;
  // See lockParents: the same race, one level up.
  await sql`SELECT id FROM goals WHERE id = ANY(${goalIds}::uuid[]) ORDER BY id FOR NO KEY UPDATE`.execute(trx);
  const { rows } = await sql<{ id: string }>`
    UPDATE goals g SET status = 'succeeded', finished_at = now(), updated_at = now()
    WHERE g.id = ANY(${goalIds}::uuid[]) AND g.status IN ('pending', 'running', 'paused')
      AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.goal_id = g.id AND t.status NOT IN ${UNFINISHED})
    RETURNING g.id`.execute(trx);
  for (const row of rows) events.push({ type: 'goal.status_changed', goalId: row.id, data: { to: 'succeeded' } });
}

/**
 * Leases nobody renewed in time: their owner is gone or stuck. The task goes
 * back to pending (the attempt counts) or fails when none are left; the
 * owner, should it come back, is fenced out by the new attempt number.
 */
export async function expireLeases(db: Db, policy: RetryPolicy, limit = 100): Promise<number> {
  return inTransaction(db, async (trx) => {
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
    const events: NewEvent[] = [];
    for (const task of expired) {
      await retryOrFail(trx, task, `lease expired: ${task.leaseOwner} stopped renewing it`, policy, events);
    }
    await rollUpGoals(trx, [...new Set(expired.map((t) => t.goalId))], events);
    await appendEvents(trx, events);
    return expired.length;
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
 * At start-up: tasks this instance id held before it went down. Their
 * sessions died with it, so each is treated as a failed attempt now rather
 * than after its lease runs out.
 */
export async function reclaimOwnedTasks(db: Db, owner: string, policy: RetryPolicy): Promise<number> {
  return inTransaction(db, async (trx) => {
    const owned = await trx
      .selectFrom('tasks')
      .select(['id', 'goalId', 'parentId', 'attempt', 'attemptFloor', 'maxAttempts'])
      .where('status', '=', 'running')
      .where('leaseOwner', '=', owner)
      .forUpdate()
      .execute();
    const events: NewEvent[] = [];
    for (const task of owned) await retryOrFail(trx, task, 'the instance running it restarted', policy, events);
    await rollUpGoals(trx, [...new Set(owned.map((t) => t.goalId))], events);
    await appendEvents(trx, events);
    return owned.length;
  });
}

export function taskEvent(goalId: string, taskId: string, from: string, to: string, data: Record<string, unknown>): NewEvent {
  return { type: 'task.status_changed', goalId, taskId, data: { from, to, ...data } };
}
