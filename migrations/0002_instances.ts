import { sql, type Kysely } from 'kysely';

/**
 * Arbor processes register here while they run. A session or a lease names
 * its owner by instance id; with the owner's host, pid and kernel start time
 * on record, another instance on the same host can tell at once — without
 * waiting out a heartbeat — that the owner is gone, end its orphaned agents
 * and take its tasks back.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE instances (
      id             text PRIMARY KEY,
      host           text NOT NULL,
      pid            integer NOT NULL,
      pid_started_at text,
      started_at     timestamptz NOT NULL DEFAULT now(),
      heartbeat_at   timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX instances_host_idx ON instances (host)`.execute(db);
  // Orphan sweeps look for live sessions by host.
  await sql`CREATE INDEX sessions_host_live_idx ON sessions (host) WHERE status <> 'ended'`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
