import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { EventsTable } from '../db/schema.js';

/**
 * Reading the event log, for the API's pages and streams.
 *
 * Event ids come from an identity column, handed out when a row is inserted,
 * but rows become visible when their transaction commits. A transaction that
 * took id 6 can commit after one that took id 7, so "everything after the
 * last id I read" can skip 6 for good. A reader therefore only trusts ids up
 * to a horizon: the newest visible id once every transaction that was
 * writing events when it was read has ended (see `eventHorizon`).
 */

export type EventRow = Selectable<EventsTable>;

/** Events with `after < id <= upTo`, oldest first, optionally of one goal. */
export async function readEvents(
  db: Db,
  options: { after: string; upTo?: string; goalId?: string; limit: number },
): Promise<EventRow[]> {
  let query = db.selectFrom('events').selectAll().where('id', '>', options.after).orderBy('id').limit(options.limit);
  if (options.upTo !== undefined) query = query.where('id', '<=', options.upTo);
  if (options.goalId !== undefined) query = query.where('goalId', '=', options.goalId);
  return query.execute();
}

/**
 * Every transaction that inserts into `events` holds a RowExclusiveLock on it
 * from before it draws an id until it ends. So the holders seen here are
 * exactly the transactions that may still commit an id below one already
 * visible. Filtered to this database: clones of one template share table oids.
 */
const EVENT_WRITERS = sql<string>`
  SELECT virtualtransaction FROM pg_locks
  WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND relation = 'events'::regclass`;

export interface EventHorizon {
  /** The newest visible event id ('0' for an empty log). */
  newest: string;
  /** Transactions writing events right now; `newest` is safe to read up to once they have ended. */
  writers: string[];
}

/**
 * Read in one statement: any transaction holding an id below `newest` that is
 * not yet visible to this statement's snapshot either still holds its lock
 * when pg_locks is read (so it is listed) or has ended since (so a later read
 * sees its rows, or they were rolled back). Ids drawn after the snapshot are
 * all above `newest`.
 */
export async function eventHorizon(db: Db): Promise<EventHorizon> {
  const { rows } = await sql<{ newest: string; writers: string[] }>`
    SELECT (SELECT coalesce(max(id), 0) FROM events)::text AS newest,
           ARRAY(${EVENT_WRITERS}) AS writers`.execute(db);
  return rows[0]!;
}

/** Which of `writers` (from `eventHorizon`) are still writing events. */
export async function openEventWriters(db: Db, writers: string[]): Promise<string[]> {
  if (writers.length === 0) return [];
  const { rows } = await sql<{ virtualtransaction: string }>`
    SELECT virtualtransaction FROM (${EVENT_WRITERS}) w
    WHERE virtualtransaction = ANY(${writers}::text[])`.execute(db);
  return rows.map((r) => r.virtualtransaction);
}
