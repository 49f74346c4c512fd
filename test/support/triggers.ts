import { sql } from 'kysely';
import type { Db } from '../../server/db/database.js';

/** The goals a trigger started, oldest first. */
export function goalsStartedBy(db: Db, triggerId: string) {
  return db
    .selectFrom('goals')
    .select(['id', 'title', 'metadata'])
    .where(sql<string>`metadata->'trigger'->>'id'`, '=', triggerId)
    .orderBy('createdAt')
    .execute();
}

/** Every row of `tables`, as text: equal before and after a request means it changed nothing there. */
export async function tablesAsText(db: Db, tables: string[]): Promise<string> {
  const parts = await Promise.all(
    tables.map(async (table) => {
      const { rows } = await sql<{ rows: string | null }>`SELECT string_agg(t::text, E'\n' ORDER BY t::text) AS rows FROM ${sql.table(table)} t`.execute(db);
      return `${table}:\n${rows[0]!.rows ?? ''}`;
    }),
  );
  return parts.join('\n');
}
