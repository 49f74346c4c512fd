import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { inTransaction } from './transactions.js';
import { eventHorizon, openEventWriters } from './event-log.js';

/**
 * Followers of the event log that keep their place in Postgres (table
 * event_cursors, one row per follower). A follower's page of events is
 * handled in the transaction that moves its cursor past them, with the cursor
 * row locked (SKIP LOCKED): of several instances, one handles each page, and
 * a page whose transaction failed is handled again.
 */

/** An event with the goal and task facts a reader needs. */
export interface FollowedEvent {
  id: string;
  type: string;
  at: Date;
  data: Record<string, unknown>;
  goalId: string | null;
  goalTitle: string | null;
  taskId: string | null;
  taskKey: string | null;
  taskTitle: string | null;
  taskKind: string | null;
  taskError: string | null;
  taskAttempt: number | null;
}

export interface FollowResult {
  /** False when another instance holds this cursor right now: it is doing this work. */
  followed: boolean;
  events: number;
  /** More events may wait beyond the page read. */
  more: boolean;
}

/**
 * The newest event id below which no transaction is still writing (ids are
 * drawn at insert, seen at commit: see event-log.ts). Null when a writer
 * stays open longer than `maxWaitMs` or `stopped()` says to give up.
 */
export async function settledHorizon(db: Db, maxWaitMs: number, stopped: () => boolean = () => false): Promise<string | null> {
  const started = Date.now();
  const { newest, writers } = await eventHorizon(db);
  let open = writers;
  let delay = 5;
  while (open.length > 0) {
    if (Date.now() - started > maxWaitMs || stopped()) return null;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 200);
    open = await openEventWriters(db, open);
  }
  return newest;
}

/**
 * Hands the next page of events of `types` after the cursor (up to `horizon`)
 * to `work`, in one transaction with the cursor's move. A cursor seen for the
 * first time starts at `horizon`: what happened before the follower existed
 * is not its business. Events of other types still move the cursor.
 */
export async function followEvents(
  db: Db,
  follow: { cursor: string; horizon: string; pageSize: number; types: readonly string[] },
  work: (trx: Db, events: FollowedEvent[]) => Promise<void>,
): Promise<FollowResult> {
  const { cursor: name, horizon, pageSize } = follow;
  return inTransaction(db, async (trx) => {
    await sql`INSERT INTO event_cursors (name, after_id) VALUES (${name}, ${horizon}::bigint) ON CONFLICT (name) DO NOTHING`.execute(trx);
    const { rows: cursors } = await sql<{ afterId: string }>`
      SELECT after_id FROM event_cursors WHERE name = ${name} FOR UPDATE SKIP LOCKED`.execute(trx);
    const cursor = cursors[0];
    if (!cursor) return { followed: false, events: 0, more: false };
    if (BigInt(cursor.afterId) >= BigInt(horizon)) return { followed: true, events: 0, more: false };

    const { rows } = await sql<FollowedEvent>`
      SELECT e.id, e.type, e.at, e.data, e.goal_id, g.title AS goal_title, e.task_id,
             t.key AS task_key, t.title AS task_title, t.kind AS task_kind, t.error AS task_error, t.attempt AS task_attempt
      FROM events e
      LEFT JOIN goals g ON g.id = e.goal_id
      LEFT JOIN tasks t ON t.id = e.task_id
      WHERE e.id > ${cursor.afterId}::bigint AND e.id <= ${horizon}::bigint
        AND e.type = ANY(${[...follow.types]}::text[])
      ORDER BY e.id
      LIMIT ${pageSize}`.execute(trx);
    if (rows.length > 0) await work(trx, rows);
    const more = rows.length === pageSize;
    const afterId = more ? rows[rows.length - 1]!.id : horizon;
    await sql`UPDATE event_cursors SET after_id = ${afterId}::bigint, updated_at = now() WHERE name = ${name}`.execute(trx);
    return { followed: true, events: rows.length, more };
  });
}
