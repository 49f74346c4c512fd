import type { Db } from '../db/database.js';

/**
 * Runs `work` in one transaction, again from the start when Postgres aborts it
 * for a deadlock or a serialization failure. Those are the database choosing a
 * victim between two correct transactions (a goal cancel and a completion
 * locking the same rows in opposite order, say); trying again is the remedy,
 * and nothing of the failed try was committed.
 */
export async function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= attempts || (code !== '40P01' && code !== '40001')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    }
  }
}
