import { sql, type Kysely } from 'kysely';

/**
 * True per-run costs. A resumed conversation reports running totals (claude's
 * cost, codex's tokens), so each session keeps the last totals its agent
 * reported and a run records only what it added. Tasks get their own totals
 * over all their runs, and goals their tokens next to their cost.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE sessions
      ADD COLUMN conversation_cost_usd      numeric(14, 6),
      ADD COLUMN conversation_input_tokens  bigint,
      ADD COLUMN conversation_output_tokens bigint`.execute(db);
  await sql`
    ALTER TABLE tasks
      ADD COLUMN cost_usd      numeric(14, 6) NOT NULL DEFAULT 0,
      ADD COLUMN input_tokens  bigint NOT NULL DEFAULT 0,
      ADD COLUMN output_tokens bigint NOT NULL DEFAULT 0`.execute(db);
  await sql`
    ALTER TABLE goals
      ADD COLUMN input_tokens  bigint NOT NULL DEFAULT 0,
      ADD COLUMN output_tokens bigint NOT NULL DEFAULT 0`.execute(db);
}
