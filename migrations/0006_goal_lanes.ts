import { sql, type Kysely } from 'kysely';

/**
 * Coordination that held only inside one process, held in the database so it
 * holds across instances and machines.
 *
 * goal_lanes: a goal's pinned lane (its one long-lived conversation) belongs
 * to one instance at a time, under a lease its heartbeat renews; when the
 * lease runs out another instance may take the lane over. While a pinned task
 * runs (`running_task_id`), merges into the goal branch wait.
 *
 * port_blocks: the block of ports a session gets is unique per host, whichever
 * instance on that host hands it out; a block whose owner is no longer a
 * registered instance may be handed out again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE goal_lanes (
      goal_id         uuid PRIMARY KEY REFERENCES goals (id) ON DELETE CASCADE,
      holder          text NOT NULL,
      expires_at      timestamptz NOT NULL,
      acquired_at     timestamptz NOT NULL DEFAULT now(),
      running_task_id uuid
    )`.execute(db);
  await sql`CREATE INDEX goal_lanes_holder_idx ON goal_lanes (holder)`.execute(db);
  await sql`
    CREATE TABLE port_blocks (
      host       text NOT NULL,
      slot       integer NOT NULL CHECK (slot >= 0),
      owner      text NOT NULL,
      session_id text,
      taken_at   timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (host, slot)
    )`.execute(db);
  await sql`CREATE INDEX port_blocks_owner_idx ON port_blocks (owner)`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
