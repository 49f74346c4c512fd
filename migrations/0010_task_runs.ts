import { sql, type Kysely } from 'kysely';

/**
 * One row per agent run of a task (each attempt, each rework): the exact
 * prompt the agent got, the commit its worktree stood at when it started,
 * and the stretch of its session's log it wrote. A pinned session runs many
 * tasks, so a task's log is a range of seqs, not a session.
 *
 * outcome is null while the run goes on; `interrupted` when its process went
 * away with Arbor (or a newer run of the task superseded it) before an
 * outcome was known.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE task_runs (
      id           uuid PRIMARY KEY,
      task_id      uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
      session_id   uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      attempt      integer NOT NULL,
      prompt       text NOT NULL,
      base_sha     text,
      log_from_seq bigint NOT NULL,
      log_to_seq   bigint,
      started_at   timestamptz NOT NULL DEFAULT now(),
      ended_at     timestamptz,
      outcome      text CHECK (outcome IN ('succeeded', 'failed', 'blocked', 'interrupted')),
      error        text,
      CHECK ((ended_at IS NULL) = (outcome IS NULL))
    )`.execute(db);
  await sql`CREATE INDEX task_runs_task_idx ON task_runs (task_id, started_at)`.execute(db);
  await sql`CREATE INDEX task_runs_session_idx ON task_runs (session_id)`.execute(db);
  // Runs still open: few, and looked up by task at every run's start and end.
  await sql`CREATE INDEX task_runs_open_idx ON task_runs (task_id) WHERE ended_at IS NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE task_runs`.execute(db);
}
