import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { NOTIFYING_EVENT_TYPES, type NotifiableEvent } from '../domain/notifications.js';
import { inTransaction } from './transactions.js';

/**
 * The notification outbox: a cursor over the event log and one delivery row
 * per (event, target). See migrations/0011_notifications.ts.
 */

const CURSOR = 'default';

export interface NewDelivery {
  eventId: string;
  target: string;
  targetHost: string;
  kind: string;
  goalId: string | null;
  taskId: string | null;
  payload: Record<string, unknown>;
}

export interface CollectResult {
  /** False when another instance holds the cursor right now: it is doing this work. */
  collected: boolean;
  events: number;
  inserted: number;
  /** More events may wait beyond the page read. */
  more: boolean;
}

/**
 * Reads the log from the cursor up to `horizon` (a point with no transaction
 * still writing below it), turns each page of events into deliveries with
 * `plan`, and moves the cursor past them in the same transaction. The first
 * run starts at `horizon`: what happened before notifications existed is not
 * news. Events the rule passes over still move the cursor.
 */
export async function collectNotifications(
  db: Db,
  horizon: string,
  pageSize: number,
  plan: (events: NotifiableEvent[]) => NewDelivery[],
): Promise<CollectResult> {
  return inTransaction(db, async (trx) => {
    await sql`INSERT INTO notification_cursors (name, after_id) VALUES (${CURSOR}, ${horizon}::bigint) ON CONFLICT (name) DO NOTHING`.execute(trx);
    const { rows: cursors } = await sql<{ afterId: string }>`
      SELECT after_id FROM notification_cursors WHERE name = ${CURSOR} FOR UPDATE SKIP LOCKED`.execute(trx);
    const cursor = cursors[0];
    if (!cursor) return { collected: false, events: 0, inserted: 0, more: false };
    if (BigInt(cursor.afterId) >= BigInt(horizon)) return { collected: true, events: 0, inserted: 0, more: false };

    const { rows } = await sql<{
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
    }>`
      SELECT e.id, e.type, e.at, e.data, e.goal_id, g.title AS goal_title, e.task_id,
             t.key AS task_key, t.title AS task_title, t.kind AS task_kind, t.error AS task_error, t.attempt AS task_attempt
      FROM events e
      LEFT JOIN goals g ON g.id = e.goal_id
      LEFT JOIN tasks t ON t.id = e.task_id
      WHERE e.id > ${cursor.afterId}::bigint AND e.id <= ${horizon}::bigint
        AND e.type = ANY(${[...NOTIFYING_EVENT_TYPES]}::text[])
      ORDER BY e.id
      LIMIT ${pageSize}`.execute(trx);

    const events: NotifiableEvent[] = rows.map((row) => {
      const reason = typeof row.data.reason === 'string' ? row.data.reason : typeof row.data.error === 'string' ? row.data.error : null;
      const attempt = typeof row.data.attempt === 'number' ? row.data.attempt : row.taskAttempt;
      return {
        id: row.id,
        type: row.type,
        at: row.at,
        data: row.data,
        goalId: row.goalId,
        goalTitle: row.goalTitle,
        taskId: row.taskId,
        taskKey: row.taskKey,
        taskTitle: row.taskTitle,
        taskKind: row.taskKind,
        taskError: reason ?? row.taskError,
        attempt,
      };
    });
    const deliveries = plan(events);
    let inserted = 0;
    if (deliveries.length > 0) {
      const result = await trx
        .insertInto('notificationDeliveries')
        .values(deliveries)
        .onConflict((oc) => oc.columns(['eventId', 'target']).doNothing())
        .executeTakeFirst();
      inserted = Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    const more = rows.length === pageSize;
    const afterId = more ? rows[rows.length - 1]!.id : horizon;
    await trx.updateTable('notificationCursors').set({ afterId, updatedAt: new Date() }).where('name', '=', CURSOR).execute();
    return { collected: true, events: rows.length, inserted, more };
  });
}

export interface ClaimedDelivery {
  id: string;
  eventId: string;
  target: string;
  targetHost: string;
  kind: string;
  payload: Record<string, unknown>;
  /** This attempt's number (1 for the first). */
  attempts: number;
}

/**
 * Takes up to `limit` due deliveries for one attempt each. The claim pushes
 * `next_attempt_at` `leaseMs` ahead: another instance will not take a row
 * while its send may still be under way, and a row whose sender died is due
 * again when that time passes.
 */
export async function claimDueDeliveries(db: Db, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<ClaimedDelivery>`
    UPDATE notification_deliveries d
    SET attempts = d.attempts + 1, next_attempt_at = now() + ${leaseMs} * interval '1 millisecond'
    WHERE d.id IN (
      SELECT id FROM notification_deliveries
      WHERE status = 'pending' AND next_attempt_at <= now()
      ORDER BY next_attempt_at, id
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING d.id, d.event_id, d.target, d.target_host, d.kind, d.payload, d.attempts`.execute(db);
  return rows;
}

export type DeliveryRecord =
  | { outcome: 'delivered'; status: number }
  | { outcome: 'retry'; status: number | null; error: string; delayMs: number }
  | { outcome: 'failed'; status: number | null; error: string };

/**
 * What an attempt came to, guarded by the attempt it was: a row re-claimed
 * after its lease ran out belongs to the later attempt. Returns whether it was
 * recorded.
 */
export async function recordDelivery(db: Db, claimed: { id: string; attempts: number }, record: DeliveryRecord): Promise<boolean> {
  const guard = db
    .updateTable('notificationDeliveries')
    .where('id', '=', claimed.id)
    .where('attempts', '=', claimed.attempts)
    .where('status', '=', 'pending');
  const result =
    record.outcome === 'delivered'
      ? await guard.set({ status: 'delivered', lastStatus: record.status, lastError: null, finishedAt: new Date() }).executeTakeFirst()
      : record.outcome === 'failed'
        ? await guard.set({ status: 'failed', lastStatus: record.status, lastError: record.error, finishedAt: new Date() }).executeTakeFirst()
        : await guard
            .set({
              lastStatus: record.status,
              lastError: record.error,
              nextAttemptAt: sql<Date>`now() + ${record.delayMs} * interval '1 millisecond'`,
            })
            .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Deliveries not yet sent or given up on: the backlog an operator watches. */
export async function pendingDeliveryCount(db: Db): Promise<number> {
  const row = await db
    .selectFrom('notificationDeliveries')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export interface DeliveryRow {
  id: string;
  eventId: string;
  targetHost: string;
  kind: string;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  payload: Record<string, unknown>;
}

/** Deliveries, oldest first (tests and operators reading what was sent). */
export async function listDeliveries(db: Db): Promise<DeliveryRow[]> {
  return db
    .selectFrom('notificationDeliveries')
    .select(['id', 'eventId', 'targetHost', 'kind', 'status', 'attempts', 'lastStatus', 'lastError', 'payload'])
    .orderBy('id')
    .execute();
}
