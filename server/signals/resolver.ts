import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import { signalMatchKeys, type GateCondition } from '../domain/gate.js';
import { storableJson, storableText } from '../domain/storable-text.js';
import { decideGate, leafMatches, normalizeSignal, type NormalizedSignal } from '../domain/signal-rules.js';
import type { NewEvent } from '../store/events.js';
import { decideWaitingGate, storedGate } from '../store/holds.js';
import { applySignal, receiveSignal, type GatePass } from '../store/signals.js';
import { inTransaction } from '../store/transactions.js';

/**
 * A signal from the outside world (CI, a review bot, a person, GitHub)
 * against the gates waiting for it. One transaction of two statements: store
 * the signal, find the gates it concerns through the match-key index with the
 * signals each is decided from; decide them here (domain rules); apply the
 * decisions and append the events.
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
    // Locks the keys before anything else: a gate opening on the same keys
    // either committed already (and is found) or waits and then finds this signal.
    const arrival = await receiveSignal(trx, {
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
    if (arrival.duplicate) return { signalId: arrival.signalId, matched: arrival.matched, duplicate: true };

    const events: NewEvent[] = [];
    const matched: string[] = [];
    const passes: GatePass[] = [];
    for (const gate of arrival.gates) {
      const condition = storedGate(gate.gate).condition;
      // Keys pair a signal with candidates; the attributes (a sha, say) decide.
      if (!mentions(condition, signal)) continue;
      matched.push(gate.id);
      const decision = decideGate(condition, gate.signals);
      if (decision.state === 'pass') {
        // The common outcome goes back to the database with the recording of the signal, in one statement.
        const last = decision.deciding[0]!;
        const signalIds = decision.deciding.map((s) => s.id);
        passes.push({
          id: gate.id,
          result: { signal_ids: signalIds, summary: last.summary, artifacts: last.artifacts },
          others: signalIds.filter((id) => id !== arrival.signalId),
        });
      } else if (decision.state === 'fail') {
        // Rework or failure: rarer, and it walks the tree; decided again from the same rows, under the same locks.
        await decideWaitingGate(trx, gate, events, arrival.signalId);
      }
    }
    await applySignal(trx, {
      signalId: arrival.signalId,
      matched,
      passes,
      events,
      received: {
        type: 'signal.received',
        goalId: null,
        signalId: arrival.signalId,
        data: { type: signal.type, status: input.status, attributes: signal.attributes, matched, source: input.source },
      },
    });
    return { signalId: arrival.signalId, matched, duplicate: false };
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
