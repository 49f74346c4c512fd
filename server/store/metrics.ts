import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/**
 * Counts read at each metrics scrape. Each is one query whose cost grows with
 * open work, not with history.
 */

/** Goals by status (an index on goals (status, seq) answers it). */
export async function countGoalsByStatus(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom('goals').select(['status', (eb) => eb.fn.countAll<string>().as('count')]).groupBy('status').execute();
  return new Map(rows.map((r) => [r.status, Number(r.count)]));
}

/** Tasks of goals still open (pending, running, paused) by status: finished goals' tasks are history. */
export async function countOpenTasksByStatus(db: Db): Promise<Map<string, number>> {
  const { rows } = await sql<{ status: string; count: string }>`
    SELECT t.status, count(*) AS count
    FROM goals g JOIN tasks t ON t.goal_id = g.id
    WHERE g.status IN ('pending', 'running', 'paused')
    GROUP BY t.status`.execute(db);
  return new Map(rows.map((r) => [r.status, Number(r.count)]));
}

/**
 * When a task could first run: its creation, its backoff's end, or the moment
 * its last dependency finished, whichever came last. Null for an unknown task.
 */
export async function taskReadyAt(db: Db, taskId: string): Promise<Date | null> {
  const { rows } = await sql<{ readyAt: Date }>`
    SELECT greatest(t.created_at, t.not_before,
                    (SELECT max(d.finished_at) FROM task_dependencies td JOIN tasks d ON d.id = td.depends_on_id WHERE td.task_id = t.id)) AS ready_at
    FROM tasks t WHERE t.id = ${taskId}`.execute(db);
  return rows[0]?.readyAt ?? null;
}
