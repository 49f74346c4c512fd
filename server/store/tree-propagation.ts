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

const UNFINISHED = sql.raw(`('succeeded', 'skipped')`);

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

export function taskEvent(goalId: string, taskId: string, from: string, to: string, data: Record<string, unknown>): NewEvent {
  return { type: 'task.status_changed', goalId, taskId, data: { from, to, ...data } };
}
