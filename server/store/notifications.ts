import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/**
 * The notification outbox: one delivery row per (event, target), written as
 * the notifier's cursor (event-cursors.ts) moves past the event. See
 * migrations/0011_notifications.ts.
 */

export interface NewDelivery {
  eventId: string;
  target: string;
  targetHost: string;
  kind: string;
  goalId: string | null;
  taskId: string | null;
  payload: Record<string, unknown>;
}

/** Records deliveries; one already recorded for the same (event, target) is left as it is. */
export async function insertDeliveries(trx: Db, deliveries: NewDelivery[]): Promise<void> {
  if (deliveries.length === 0) return;
  await trx
    .insertInto('notificationDeliveries')
    .values(deliveries)
    .onConflict((oc) => oc.columns(['eventId', 'target']).doNothing())
    .execute();
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
