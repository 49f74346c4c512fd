import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { TaskRunOutcome, TaskRunsTable } from '../db/schema.js';
import { storableText } from '../domain/storable-text.js';
import { inTransaction } from './transactions.js';

/** A task's agent runs: what each was told, where its log is, how it ended. */

export type TaskRun = Selectable<TaskRunsTable>;

export interface NewTaskRun {
  id: string;
  taskId: string;
  sessionId: string;
  attempt: number;
  prompt: string;
  /** The commit the run's worktree stood at when it started; null if it could not be read. */
  baseSha: string | null;
}

/**
 * Records a run as it starts. Its log begins with the next line of its
 * session (a pinned session's log holds many runs), so this must come before
 * the run writes any. A run of the task still open is one whose end was never
 * recorded (its process went with its Arbor): it is closed as interrupted.
 */
export async function startTaskRun(db: Db, run: NewTaskRun): Promise<void> {
  await inTransaction(db, async (trx) => {
    await closeRuns(trx, { taskId: run.taskId }, { outcome: 'interrupted', error: 'a newer run of the task started before this one was seen to end' });
    await trx
      .insertInto('taskRuns')
      .values({
        ...run,
        prompt: storableText(run.prompt),
        logFromSeq: sql<string>`(SELECT log_lines + 1 FROM sessions WHERE id = ${run.sessionId})`,
      })
      .execute();
  });
}

/** Records how the task's run of this attempt ended; its log ends with the last line its session holds now. */
export async function endTaskRun(db: Db, run: { taskId: string; attempt: number }, end: { outcome: TaskRunOutcome; error: string | null }): Promise<void> {
  await closeRuns(db, run, end);
}

/**
 * A run that succeeded but whose task failed on what Arbor does after it
 * (opening its pull request): its record says so, so the runs of a task tell
 * the same story as the task. Only a run recorded as succeeded changes.
 */
export async function failSucceededTaskRun(db: Db, run: { taskId: string; attempt: number }, error: string): Promise<void> {
  await db
    .updateTable('taskRuns')
    .set({ outcome: 'failed', error: storableText(error) })
    .where('taskId', '=', run.taskId)
    .where('attempt', '=', run.attempt)
    .where('outcome', '=', 'succeeded')
    .execute();
}

/** A session that ended without its runner (an orphan): its open runs were interrupted. */
export async function interruptSessionRuns(db: Db, sessionId: string, reason: string): Promise<void> {
  await closeRuns(db, { sessionId }, { outcome: 'interrupted', error: reason });
}

async function closeRuns(
  db: Db,
  which: { taskId?: string; attempt?: number; sessionId?: string },
  end: { outcome: TaskRunOutcome; error: string | null },
): Promise<void> {
  let query = db
    .updateTable('taskRuns')
    .set({
      endedAt: new Date(),
      outcome: end.outcome,
      error: end.error === null ? null : storableText(end.error),
      logToSeq: sql<string>`(SELECT log_lines FROM sessions WHERE sessions.id = task_runs.session_id)`,
    })
    .where('endedAt', 'is', null);
  if (which.taskId !== undefined) query = query.where('taskId', '=', which.taskId);
  if (which.attempt !== undefined) query = query.where('attempt', '=', which.attempt);
  if (which.sessionId !== undefined) query = query.where('sessionId', '=', which.sessionId);
  await query.execute();
}

/** Oldest first. */
export async function listTaskRuns(db: Db, taskId: string): Promise<TaskRun[]> {
  return db.selectFrom('taskRuns').selectAll().where('taskId', '=', taskId).orderBy('startedAt').orderBy('id').execute();
}
