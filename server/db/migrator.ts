import { Migrator, sql, type Migration, type MigrationResultSet } from 'kysely';
import { migrations } from '../../migrations/index.js';
import type { Db } from './database.js';

/**
 * An arbitrary constant shared by every Arbor process: the session-level
 * advisory lock that serializes migrations. Kysely also locks inside its own
 * transaction, but its bookkeeping tables are created before that lock is
 * taken, and two instances starting at once on an empty database would race
 * on them.
 */
const MIGRATION_LOCK_ID = 7_264_101;

export async function migrateToLatest(db: Db, list: Record<string, Migration> = migrations): Promise<string[]> {
  const result: MigrationResultSet = await db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
    try {
      // On the locking connection itself, so a pool of one cannot deadlock.
      const migrator = new Migrator({ db: conn, provider: { getMigrations: async () => list } });
      return await migrator.migrateToLatest();
    } finally {
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
    }
  });
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${errorMessage(result.error)}`);
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
