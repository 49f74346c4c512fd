import { sql, type Kysely } from 'kysely';

/**
 * Goal templates and what starts them.
 *
 * templates: a goal request with `{{parameter}}` placeholders, under a unique
 * name. `source` tells a template shipped in the repository (refreshed from its
 * file at every start) from one posted over the API.
 *
 * triggers: a template started by a cron schedule or by a GitHub event, with
 * the parameter values it is started with.
 *
 * trigger_runs: each start, claimed under (trigger_id, slot) — a cron slot's
 * time or a GitHub event's identity — in the same transaction as the goal it
 * creates, so two instances never start the same slot twice and a redelivered
 * event finds the goal it already started. A start that could not make a valid
 * goal keeps its slot with the `error`, so it is reported once, not retried on
 * every tick.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE templates (
      name        text PRIMARY KEY,
      description text NOT NULL DEFAULT '',
      parameters  jsonb NOT NULL,
      body        jsonb NOT NULL,
      source      text NOT NULL CHECK (source IN ('api', 'file')),
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE triggers (
      id            uuid PRIMARY KEY,
      template_name text NOT NULL REFERENCES templates (name) ON DELETE CASCADE,
      kind          text NOT NULL CHECK (kind IN ('schedule', 'github')),
      params        jsonb NOT NULL,
      cron          text,
      time_zone     text,
      event         text,
      filters       jsonb NOT NULL DEFAULT '{}',
      params_from   jsonb NOT NULL DEFAULT '{}',
      created_at    timestamptz NOT NULL DEFAULT now(),
      CHECK ((kind = 'schedule') = (cron IS NOT NULL)),
      CHECK ((kind = 'github') = (event IS NOT NULL))
    )`.execute(db);
  await sql`CREATE INDEX triggers_event_idx ON triggers (event) WHERE kind = 'github'`.execute(db);
  await sql`CREATE INDEX triggers_schedule_idx ON triggers (kind) WHERE kind = 'schedule'`.execute(db);
  await sql`
    CREATE TABLE trigger_runs (
      trigger_id uuid NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
      slot       text NOT NULL,
      goal_id    uuid REFERENCES goals (id) ON DELETE SET NULL,
      error      text,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (trigger_id, slot)
    )`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
