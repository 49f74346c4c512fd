import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { SignalsTable } from '../db/schema.js';
import type { GateAttributes } from '../domain/gate.js';
import type { SignalStatus, StoredSignal } from '../domain/signal-rules.js';
import { EVENTS_CHANNEL, type NewEvent } from './events.js';

/**
 * Signals as stored: every one that arrives, before anything is decided from
 * it, so none is lost to a gate that is not open yet.
 */

export type Signal = Selectable<SignalsTable>;

/** First key of the two-key advisory locks that order a signal and a gate opening on the same match key. */
const MATCH_KEY_LOCK_CLASS = 7_264_102;

/**
 * Serializes everything that could pair a signal with a gate on these keys:
 * a resolve and a gate opening on the same key never run side by side, so
 * the later one always sees the earlier one's commit (no lost signal, no
 * signal applied twice). Taken in sorted order, so two holders cannot
 * deadlock; a hash collision only serializes a little more than needed.
 */
export async function lockMatchKeys(trx: Db, keys: readonly string[]): Promise<void> {
  const sorted = [...new Set(keys)].sort();
  if (sorted.length === 0) return;
  // One statement; the ordered subquery keeps the locks taken in sorted order.
  await sql`
    SELECT pg_advisory_xact_lock(${MATCH_KEY_LOCK_CLASS}, hashtext(k.key))
    FROM (SELECT key FROM unnest(${sorted}::text[]) WITH ORDINALITY AS u(key, n) ORDER BY n) k`.execute(trx);
}

export interface NewSignal {
  id: string;
  type: string;
  attributes: GateAttributes;
  matchKeys: string[];
  status: SignalStatus;
  summary: string | null;
  artifacts: unknown;
  idempotencyKey: string | null;
  source: 'api' | 'github' | 'task';
}

/**
 * Stores a signal; with an idempotency key its source used before, stores
 * nothing and returns the first one (a concurrent twin waits on the unique
 * index and then finds it). Each source has its own keys: an API caller cannot
 * take a key GitHub's deliveries will use.
 */
export async function insertSignal(trx: Db, signal: NewSignal): Promise<{ duplicate: boolean; signal: Signal }> {
  const inserted = await trx
    .insertInto('signals')
    .values({ ...signal, artifacts: signal.artifacts === undefined ? null : (signal.artifacts as object) })
    .onConflict((oc) => oc.columns(['source', 'idempotencyKey']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { duplicate: false, signal: inserted };
  const first = await trx
    .selectFrom('signals')
    .selectAll()
    .where('source', '=', signal.source)
    .where('idempotencyKey', '=', signal.idempotencyKey)
    .executeTakeFirstOrThrow();
  return { duplicate: true, signal: first };
}

/** A waiting gate filed under the signal's keys, with the signals it is decided from (newest first). */
export interface ArrivedGate extends WaitingGate {
  signals: StoredSignal[];
}

export type Arrival =
  | { duplicate: true; signalId: string; matched: string[] }
  | { duplicate: false; signalId: string; gates: ArrivedGate[] };

/**
 * A signal's first statement (arbor_signal_arrive, migration 0013): the
 * match-key locks, the signal stored — or, for an idempotency key its source
 * used before, the first one found — and the waiting gates under its keys,
 * locked, each with its other keys held and the signals stored since it was
 * armed. The same steps as lockMatchKeys, insertSignal, lockWaitingGates and
 * signalsForGate, in one round trip.
 */
export async function receiveSignal(trx: Db, signal: NewSignal): Promise<Arrival> {
  const keys = [...new Set(signal.matchKeys)].sort();
  const { rows } = await sql<{ arrival: RawArrival }>`
    SELECT arbor_signal_arrive(${MATCH_KEY_LOCK_CLASS}::int, ${keys}::text[], ${signal.id}::uuid, ${signal.type}, ${JSON.stringify(signal.attributes)}::jsonb,
      ${signal.status}, ${signal.summary}, ${signal.artifacts === undefined || signal.artifacts === null ? null : JSON.stringify(signal.artifacts)}::jsonb,
      ${signal.idempotencyKey}, ${signal.source}) AS arrival`.execute(trx);
  const arrival = rows[0]!.arrival;
  if (arrival.duplicate) return { duplicate: true, signalId: arrival.signalId, matched: arrival.matched };
  return {
    duplicate: false,
    signalId: arrival.signalId,
    gates: arrival.gates.map((g) => ({
      ...g,
      kind: 'wait_for_signal',
      signals: g.signals.map((s) => ({ ...s, receivedAt: new Date(s.receivedAt) })),
    })),
  };
}

type RawArrival =
  | { duplicate: true; signalId: string; matched: string[] }
  | { duplicate: false; signalId: string; gates: (Omit<ArrivedGate, 'signals'> & { signals: (Omit<StoredSignal, 'receivedAt'> & { receivedAt: string })[] })[] };

/** A gate the signal lets pass: its result, and the other signals that decided it with this one. */
export interface GatePass {
  id: string;
  result: Record<string, unknown>;
  others: string[];
}

/**
 * A signal's second statement (arbor_signal_apply, migration 0013): each
 * passing gate succeeds if it still waits, releasing its dependents and
 * rolling up its groups and goal (as succeedHeldTask does); the signal's
 * matches are recorded; `events`, those of the passes, then `received` are
 * appended with one NOTIFY (as appendEvents does).
 */
export async function applySignal(
  trx: Db,
  outcome: { signalId: string; matched: string[]; passes: GatePass[]; events: NewEvent[]; received: NewEvent },
): Promise<void> {
  await sql`
    SELECT arbor_signal_apply(${EVENTS_CHANNEL}, ${outcome.signalId}::uuid, ${outcome.matched}::uuid[],
      ${JSON.stringify(outcome.passes)}::jsonb, ${JSON.stringify(outcome.events)}::jsonb, ${JSON.stringify(outcome.received)}::jsonb)`.execute(trx);
}

export interface WaitingGate {
  id: string;
  goalId: string;
  parentId: string | null;
  kind: 'wait_for_signal';
  gate: unknown;
  reworkCount: number;
}

/**
 * Signals filed under any of these keys that arrived after the gate was
 * armed, newest first: what the gate is decided from. The arming time is
 * compared in the database, at its full (microsecond) precision.
 */
export async function signalsForGate(trx: Db, keys: readonly string[], gateId: string): Promise<StoredSignal[]> {
  if (keys.length === 0) return [];
  const { rows } = await sql<StoredSignal>`
    SELECT id, type, attributes, status, summary, artifacts, received_at FROM signals
    WHERE match_keys && ${keys as string[]}::text[]
      AND received_at > coalesce((SELECT gate_armed_at FROM tasks WHERE id = ${gateId}::uuid), '-infinity')
    ORDER BY received_at DESC, id DESC
    LIMIT 500`.execute(trx);
  return rows;
}

/** Adds the gates a signal resolved to its record, for GET /api/signals. */
export async function addSignalMatches(trx: Db, signalIds: readonly string[], taskIds: readonly string[]): Promise<void> {
  if (signalIds.length === 0 || taskIds.length === 0) return;
  await sql`
    UPDATE signals SET matched_task_ids = ARRAY(SELECT DISTINCT unnest(matched_task_ids || ${taskIds as string[]}::uuid[]))
    WHERE id = ANY(${signalIds as string[]}::uuid[])`.execute(trx);
}

export async function getSignal(db: Db, id: string): Promise<Signal | undefined> {
  return db.selectFrom('signals').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface SignalFilter {
  type?: string;
  repo?: string;
  pr?: number;
  limit: number;
  /** Page after this signal (older ones). */
  afterSignalId?: string;
}

/** Newest first, keyset-paginated. */
export async function listSignals(db: Db, filter: SignalFilter): Promise<Signal[]> {
  let query = db.selectFrom('signals').selectAll().orderBy('receivedAt', 'desc').orderBy('id', 'desc').limit(filter.limit);
  if (filter.type) query = query.where('type', '=', filter.type);
  if (filter.repo) query = query.where(sql<boolean>`attributes->>'repo' = ${filter.repo.toLowerCase()}`);
  if (filter.pr !== undefined) query = query.where(sql<boolean>`attributes->>'pr' = ${String(filter.pr)}`);
  if (filter.afterSignalId) {
    // Compared in the database: received_at has microseconds a JavaScript Date would round away.
    query = query.where(sql<boolean>`(received_at, id) < (SELECT received_at, id FROM signals WHERE id = ${filter.afterSignalId}::uuid)`);
  }
  return query.execute();
}
