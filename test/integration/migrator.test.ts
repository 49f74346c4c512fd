import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { connectDatabase } from '../../server/db/database.js';
import { migrateToLatest } from '../../server/db/migrator.js';
import { createLogger } from '../../server/logger.js';
import { migrations } from '../../migrations/index.js';
import { createEmptyDatabase } from '../support/database.js';

describe('migrateToLatest', () => {
  it('is safe when several instances start at once on an empty database', async () => {
    const empty = await createEmptyDatabase();
    const handles = [0, 1, 2].map(() => connectDatabase(empty.url, { poolSize: 2, logger: createLogger('silent') }));
    try {
      const applied = await Promise.all(handles.map((h) => migrateToLatest(h.db)));
      // Exactly one instance applied the migrations; the others found them done.
      expect(applied.map((a) => a.length).sort()).toEqual([0, 0, Object.keys(migrations).length]);
      const tables = await sql<{ n: string }>`
        SELECT count(*) AS n FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name IN ('goals', 'tasks', 'task_dependencies', 'sessions', 'session_logs', 'signals', 'events')`.execute(
        handles[0]!.db,
      );
      expect(Number(tables.rows[0]!.n)).toBe(7);
      expect(await migrateToLatest(handles[0]!.db)).toEqual([]);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
      await empty.drop();
    }
  });

  it('works on a pool of one connection', async () => {
    const empty = await createEmptyDatabase();
    const handle = connectDatabase(empty.url, { poolSize: 1, logger: createLogger('silent') });
    try {
      expect(await migrateToLatest(handle.db)).toEqual(Object.keys(migrations));
    } finally {
      await handle.close();
      await empty.drop();
    }
  });
});
