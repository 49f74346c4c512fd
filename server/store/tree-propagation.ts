import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { NewEvent } from './events.js';

/**
 * How a task's end travels through its tree: a success releases what depends
 * on it and may finish its groups and its goal; a failure skips what depends
 * on it and fails its groups and its goal. Shared by completions (agent runs)
 * and holds (gates and reviews); every function runs inside the caller's
 * transaction and appends the events it causes.
 */

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
 * the tree, never recursion; it runs in the database (arbor_release_dependents,
 * migration 0012), which also locks each level's parents before the roll-up
 * asks whether anything under them is unfinished.
 */
export async function releaseDependents(
  trx: Db,
  succeeded: readonly { id: string; parentId: string | null }[],
  events: NewEvent[],
): Promise<{ holdsReady: boolean }> {
  if (succeeded.length === 0) return { holdsReady: false };
  const { rows } = await sql<{ events: SqlEvent[]; holdsReady: boolean }>`
    SELECT events, holds_ready FROM arbor_release_dependents(${succeeded.map((t) => t.id)}::uuid[], ${succeeded.map((t) => t.parentId)}::uuid[])`.execute(trx);
  events.push(...fromSqlEvents(rows[0]!.events));
  return { holdsReady: rows[0]!.holdsReady };
}

/** A goal succeeds when every one of its tasks succeeded or was skipped (arbor_roll_up_goals locks the goals first). */
export async function rollUpGoals(trx: Db, goalIds: string[], events: NewEvent[]): Promise<void> {
  if (goalIds.length === 0) return;
  const { rows } = await sql<{ events: SqlEvent[] }>`SELECT arbor_roll_up_goals(${goalIds}::uuid[]) AS events`.execute(trx);
  events.push(...fromSqlEvents(rows[0]!.events));
}

/** An event as the dispatch functions build it (jsonb keys stay as SQL spells them). */
export interface SqlEvent {
  type: NewEvent['type'];
  goal_id: string | null;
  task_id?: string | null;
  data?: Record<string, unknown>;
}

export function fromSqlEvents(rows: readonly SqlEvent[]): NewEvent[] {
  return rows.map((e) => ({ type: e.type, goalId: e.goal_id, taskId: e.task_id ?? null, data: e.data ?? {} }));
}

export function taskEvent(goalId: string, taskId: string, from: string, to: string, data: Record<string, unknown>): NewEvent {
  return { type: 'task.status_changed', goalId, taskId, data: { from, to, ...data } };
}
