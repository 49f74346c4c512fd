import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import { gateMatchKeys, signalMatchKeys, type GateCondition } from '../domain/gate.js';
import { storableJson, storableText } from '../domain/storable-text.js';
import { leafMatches, normalizeSignal, type NormalizedSignal } from '../domain/signal-rules.js';
import { appendEvents, type NewEvent } from '../store/events.js';
import { decideWaitingGate, storedGate } from '../store/holds.js';
import { insertSignal, lockMatchKeys, lockWaitingGates, setSignalMatches } from '../store/signals.js';
import { inTransaction } from '../store/transactions.js';

/**
 * A signal from the outside world (CI, a review bot, a person, GitHub)
 * against the gates waiting for it. One transaction: store the signal, find
 * the gates it concerns through the match-key index, decide each from the
 * signals stored since it was armed, apply the decisions.
 */

export interface SignalInput {
  type: string;
  /** As received; normalized here (repo lower case, pr a number, pr_url split into repo and pr). */
  attributes: Record<string, string | number>;
  status: 'pass' | 'fail';
  summary?: string;
  artifacts?: unknown;
  idempotencyKey?: string;
  source: 'api' | 'github' | 'task';
}

export interface ResolveResult {
  signalId: string;
  /** Gate tasks whose conditions this signal matched (decided or still waiting for other parts). */
  matched: string[];
  duplicate: boolean;
}

/** Input that can never match a gate; nothing was stored. */
export class SignalError extends Error {
  override name = 'SignalError';
}

export async function resolveSignal(db: Db, raw: SignalInput): Promise<ResolveResult> {
  const input = storableSignal(raw);
  const checked = normalizeSignal(input.type, input.attributes);
  if (!checked.ok) throw new SignalError(checked.error);
  const signal = checked.signal;
  const keys = signalMatchKeys(signal.type, signal.attributes);

  return inTransaction(db, async (trx) => {
    // Before anything else: a gate opening on the same keys either committed
    // already (and is found below) or waits and then finds this signal.
    await lockMatchKeys(trx, keys);
    const stored = await insertSignal(trx, {
      id: randomUUID(),
      type: signal.type,
      attributes: signal.attributes,
      matchKeys: keys,
      status: input.status,
      summary: input.summary ?? null,
      artifacts: input.artifacts,
      idempotencyKey: input.idempotencyKey ?? null,
      source: input.source,
    });
    if (stored.duplicate) {
      return { signalId: stored.signal.id, matched: stored.signal.matchedTaskIds, duplicate: true };
    }

    const events: NewEvent[] = [];
    const matched: string[] = [];
    for (const gate of await lockWaitingGates(trx, keys)) {
      const condition = storedGate(gate.gate).condition;
      // Keys pair a signal with candidates; the attributes (a sha, say) decide.
      if (!mentions(condition, signal)) continue;
      matched.push(gate.id);
      // Other parts of a compound gate may live under other keys: hold those
      // too. (Out of sorted order: a rare deadlock with another compound
      // resolve is possible, and inTransaction retries it.)
      const held = new Set(keys);
      await lockMatchKeys(trx, gateMatchKeys(condition).filter((k) => !held.has(k)));
      await decideWaitingGate(trx, gate, events, stored.signal.id);
    }
    await setSignalMatches(trx, stored.signal.id, matched);
    events.push({
      type: 'signal.received',
      goalId: null,
      signalId: stored.signal.id,
      data: { type: signal.type, status: input.status, attributes: signal.attributes, matched, source: input.source },
    });
    await appendEvents(trx, events);
    return { signalId: stored.signal.id, matched, duplicate: false };
  });
}

/**
 * Every signal enters here, from the API and from webhooks alike. A webhook
 * cannot be refused back to its sender for an odd byte, so its text is made
 * storable rather than rejected (the API refuses such requests earlier).
 */
function storableSignal(input: SignalInput): SignalInput {
  return {
    ...input,
    type: storableText(input.type),
    attributes: storableJson(input.attributes),
    summary: input.summary === undefined ? undefined : storableText(input.summary),
    artifacts: storableJson(input.artifacts),
    idempotencyKey: input.idempotencyKey === undefined ? undefined : storableText(input.idempotencyKey),
  };
}

function mentions(condition: GateCondition, signal: NormalizedSignal): boolean {
  if ('all' in condition) return condition.all.some((c) => mentions(c, signal));
  if ('any' in condition) return condition.any.some((c) => mentions(c, signal));
  return leafMatches(condition, signal);
}
