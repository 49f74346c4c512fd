import type { Db } from '../db/database.js';
import { appendEvents, type NewEvent } from './events.js';

/**
 * Runs `work` in one transaction, again from the start when Postgres aborts it
 * for a deadlock or a serialization failure. Those are the database choosing a
 * victim between two correct transactions (a goal cancel and a completion
 * locking the same rows in opposite order, say); trying again is the remedy,
 * and nothing of the failed try was committed.
 */
export async function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>, attempts = 5): Promise<T> {
  // Inside a caller's transaction the work joins it; retrying is the outermost transaction's business.
  if (db.isTransaction) return work(db);
  return retryingConflicts(() => db.transaction().execute(work), attempts);
}

/** Runs `once` — a transaction, or one statement that is its own — again after a deadlock or a serialization failure. */
export async function retryingConflicts<T>(once: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= attempts || (code !== '40P01' && code !== '40001')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    }
  }
}

/**
 * One transaction that records what it changes: `work` pushes an event for
 * each state change, and they are appended (with their one NOTIFY) just
 * before the commit — so listeners hear of a change only once it is visible,
 * and a transaction that rolls back leaves no events behind.
 */
export async function withEvents<T>(db: Db, work: (trx: Db, events: NewEvent[]) => Promise<T>): Promise<T> {
  return inTransaction(db, async (trx) => {
    const events: NewEvent[] = [];
    const result = await work(trx, events);
    await appendEvents(trx, events);
    return result;
  });
}
