import { sql, type Kysely } from 'kysely';

/**
 * Notifications, fed from the event log.
 *
 * event_cursors: how far a follower of the event log has read (the notifier;
 * the observer that logs lifecycle lines and counts metrics). One row per
 * follower, taken with FOR UPDATE SKIP LOCKED so one instance at a time reads on.
 *
 * notification_deliveries: one row per (event, target), unique, inserted in the
 * same transaction that moves the cursor past the event: an event is either
 * still ahead of the cursor or has its rows, across any restart. A row is sent
 * when `next_attempt_at` comes; a claim moves `next_attempt_at` past the send's
 * timeout, so no other instance takes it meanwhile. `target` is a digest of the
 * target's format and URL (the URL may hold a secret and is not stored);
 * `target_host` is what logs and people see.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE event_cursors (
      name       text PRIMARY KEY,
      after_id   bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE notification_deliveries (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      event_id        bigint NOT NULL,
      target          text NOT NULL,
      target_host     text NOT NULL,
      kind            text NOT NULL,
      goal_id         uuid,
      task_id         uuid,
      payload         jsonb NOT NULL,
      status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts        integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_status     integer,
      last_error      text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      finished_at     timestamptz,
      UNIQUE (event_id, target)
    )`.execute(db);
  await sql`CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at) WHERE status = 'pending'`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
