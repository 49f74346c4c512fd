import { sql, type Kysely } from 'kysely';

/**
 * A session's lines dropped before they were written, apart from those stored
 * and later removed by the bound on kept lines: `log_dropped` counts both, so
 * neither a user nor the bench could tell "the database was too slow" from
 * "old lines trimmed as configured". A constant default: no table rewrite.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sessions ADD COLUMN log_unwritten bigint NOT NULL DEFAULT 0`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
