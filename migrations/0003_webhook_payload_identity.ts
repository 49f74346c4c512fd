import { sql, type Kysely } from 'kysely';

/**
 * Idempotency keys are unique per source, not across all of them. GitHub
 * signals are keyed by what their payload is about (a check suite, a workflow
 * run attempt, a review), ids anyone can read; in one key space a caller of
 * the signals API could post such a key first and so have GitHub's real
 * verdict dropped as a duplicate. Each source now dedupes only against itself.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE signals DROP CONSTRAINT signals_idempotency_key_key`.execute(db);
  await sql`ALTER TABLE signals ADD CONSTRAINT signals_source_idempotency_key_key UNIQUE (source, idempotency_key)`.execute(db);
}
