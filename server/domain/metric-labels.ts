/**
 * Label values for Arbor's metrics: few and fixed, whatever the input, so a
 * series never multiplies with ids, custom signal types or error texts.
 */
import { KNOWN_GATE_TYPES } from './gate.js';

/** A known signal type as itself; any custom type as `other`. */
export function signalTypeLabel(type: string): string {
  return (KNOWN_GATE_TYPES as readonly string[]).includes(type) ? type : 'other';
}

export const FAILURE_REASONS = ['timeout', 'stalled', 'killed', 'stopped', 'not_started', 'unrunnable', 'lease_expired', 'instance_lost', 'agent'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/**
 * Why an attempt failed, from the error recorded with it. The texts read here
 * are the ones Arbor writes (sessions/outcome.ts, store/completion.ts);
 * anything else is the agent's own failure. `unrunnable`: a failure no retry
 * can heal (no CLI, no repository).
 */
export function failureReason(error: string, permanent = false): FailureReason {
  if (permanent) return 'unrunnable';
  if (error.startsWith('lease expired')) return 'lease_expired';
  if (error.startsWith('the instance running it')) return 'instance_lost';
  if (error.startsWith('timed out after')) return 'timeout';
  if (error.startsWith('stalled:')) return 'stalled';
  if (error.startsWith('the agent was killed')) return 'killed';
  if (error.startsWith('the session was stopped')) return 'stopped';
  if (/^(the agent did not start|agent CLI (not found|is not executable)|working directory not found)/.test(error)) return 'not_started';
  return 'agent';
}

/** A number the agent reported in a result (cost, tokens), or 0 when it reported none or nonsense. */
export function reportedAmount(result: unknown, field: string): number {
  if (typeof result !== 'object' || result === null) return 0;
  const value = (result as Record<string, unknown>)[field];
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}
