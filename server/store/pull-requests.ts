import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { PullRequest } from '../domain/pull-request.js';
import { withEvents } from './transactions.js';

/**
 * The pull request an agent reports for its run, kept on its session with the
 * task and attempt it belongs to. The run's outcome carries it as
 * `result.pull_request`. Fenced like an agent's report: only a live session
 * of the task's current attempt records one.
 */
export async function recordPullRequest(
  db: Db,
  run: { taskId: string; sessionId: string },
  pullRequest: PullRequest,
): Promise<'recorded' | 'not_running'> {
  return withEvents(db, async (trx, events) => {
    const { rows } = await sql<{ goalId: string }>`
      UPDATE sessions s SET pull_request = jsonb_build_object('task_id', t.id, 'attempt', t.attempt, 'value', ${JSON.stringify(pullRequest)}::jsonb),
        updated_at = now()
      FROM tasks t
      WHERE t.id = ${run.taskId} AND t.status = 'running' AND s.id = ${run.sessionId} AND s.task_id = t.id
        AND s.attempt = t.attempt AND s.status IN ('starting', 'running')
      RETURNING s.goal_id`.execute(trx);
    if (rows.length === 0) return 'not_running';
    events.push({ type: 'task.pull_request_reported', goalId: rows[0]!.goalId, taskId: run.taskId, sessionId: run.sessionId, data: { ...pullRequest } });
    return 'recorded';
  });
}

/** The pull request reported during the session's current run, if any. */
export async function readReportedPullRequest(db: Db, sessionId: string): Promise<PullRequest | null> {
  const { rows } = await sql<{ value: PullRequest }>`
    SELECT pull_request->'value' AS value FROM sessions
    WHERE id = ${sessionId} AND pull_request->>'task_id' = task_id::text AND (pull_request->>'attempt')::int = attempt`.execute(db);
  return rows[0]?.value ?? null;
}
