import { sql, type Kysely } from 'kysely';

/**
 * A gate that takes its pull request `{from}` an earlier task keeps what it
 * was declared as in `gate` and what it is bound to now in `gate_bound`,
 * written when it opens and written again when it re-opens after a rework.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE tasks ADD COLUMN gate_bound jsonb`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE tasks DROP COLUMN gate_bound`.execute(db);
}
