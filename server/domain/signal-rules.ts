import { GATE_TYPE_PATTERN, normalizeAttributes, type GateAttributes, type GateCondition, type GateLeaf } from './gate.js';

/**
 * Signals and how they decide gates. A gate is decided from the stored
 * signals alone — the newest matching signal of each of its conditions since
 * the gate was armed — so evaluating it again (a gate opening after its
 * signal arrived, a duplicate, a restart) always gives the same answer.
 */

export type SignalStatus = 'pass' | 'fail';

export interface NormalizedSignal {
  type: string;
  attributes: GateAttributes;
}

export interface StoredSignal extends NormalizedSignal {
  id: string;
  status: SignalStatus;
  summary: string | null;
  artifacts: unknown;
  receivedAt: Date;
}

export type SignalCheck = { ok: true; signal: NormalizedSignal } | { ok: false; error: string };

/**
 * A signal as received: its type and the attributes it names. A signal that
 * names nothing a gate could match on is refused: it would otherwise match
 * every gate of its type.
 */
export function normalizeSignal(type: string, raw: GateAttributes): SignalCheck {
  if (!GATE_TYPE_PATTERN.test(type)) return { ok: false, error: 'type must be a lowercase name like "gh_ci"' };
  for (const name of Object.keys(raw)) {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) return { ok: false, error: `${name} is not a valid attribute name` };
  }
  const attributes = normalizeAttributes(raw);
  if (typeof attributes === 'string') return { ok: false, error: attributes };
  if (Object.keys(attributes).length === 0) {
    return { ok: false, error: 'the signal names nothing to match on (for example repo and pr, or pr_url)' };
  }
  if (type === 'human_approval' && attributes.task_id === undefined && attributes.goal_id === undefined) {
    return { ok: false, error: 'a human_approval signal names a task_id or a goal_id' };
  }
  return { ok: true, signal: { type, attributes } };
}

/**
 * Types equal, and every attribute the gate names equal to the signal's. A
 * sha on a gate may be abbreviated (as people write them); the signal's full
 * sha then starts with it.
 */
export function leafMatches(leaf: GateLeaf, signal: NormalizedSignal): boolean {
  // A leaf still waiting to be bound matches nothing.
  if (leaf.type !== signal.type || leaf.bind) return false;
  return Object.entries(leaf.attributes).every(([name, value]) => {
    const given = signal.attributes[name];
    if (given === undefined) return false;
    if (name === 'sha') return String(given).startsWith(String(value));
    return String(given) === String(value);
  });
}

export interface GateDecision {
  state: SignalStatus | 'open';
  /** The signals that decided each condition, newest first. */
  deciding: StoredSignal[];
}

/**
 * `signals` newest first. A leaf takes the status of its newest matching
 * signal; `all` fails as soon as one part fails and passes when every part
 * passed; `any` passes as soon as one part passes and fails when every part
 * failed.
 */
export function decideGate(condition: GateCondition, signals: readonly StoredSignal[]): GateDecision {
  if ('all' in condition || 'any' in condition) {
    const parts = ('all' in condition ? condition.all : condition.any).map((c) => decideGate(c, signals));
    const wanted: SignalStatus = 'all' in condition ? 'fail' : 'pass';
    const other: SignalStatus = wanted === 'fail' ? 'pass' : 'fail';
    const deciding = parts.flatMap((p) => p.deciding);
    if (parts.some((p) => p.state === wanted)) return { state: wanted, deciding: parts.filter((p) => p.state === wanted).flatMap((p) => p.deciding) };
    if (parts.every((p) => p.state === other)) return { state: other, deciding };
    return { state: 'open', deciding: [] };
  }
  const newest = signals.find((s) => leafMatches(condition, s));
  if (!newest) return { state: 'open', deciding: [] };
  const state = condition.checks ? requiredChecksState(condition.checks, newest) : newest.status;
  return state === 'open' ? { state, deciding: [] } : { state, deciding: [newest] };
}

/**
 * A gate naming its required checks weighs those in the signal's list of
 * checks (`artifacts.checks`, as a verdict from the checks API carries):
 * fail when one of them failed, pass when all of them passed, open while one
 * is missing or running. A signal without that list is taken at its word.
 */
function requiredChecksState(required: readonly string[], signal: StoredSignal): GateDecision['state'] {
  const listed = isRecord(signal.artifacts) && Array.isArray(signal.artifacts.checks) ? signal.artifacts.checks : null;
  if (!listed) return signal.status;
  const stateOf = new Map<string, unknown>();
  for (const check of listed) if (isRecord(check) && typeof check.name === 'string') stateOf.set(check.name, check.state);
  const states = required.map((name) => stateOf.get(name));
  if (states.includes('fail')) return 'fail';
  return states.every((s) => s === 'pass') ? 'pass' : 'open';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The feedback a failed gate or a rejection hands back to the work it sends back. */
export function reworkFeedback(source: string, signals: readonly { summary: string | null; artifacts: unknown }[]): string {
  const parts = signals.map((s) => {
    const artifacts = s.artifacts === null || s.artifacts === undefined ? '' : `\n${JSON.stringify(s.artifacts, null, 2)}`;
    return `${s.summary ?? '(no summary)'}${artifacts}`;
  });
  return `${source}:\n${parts.join('\n\n') || '(no details)'}`;
}
