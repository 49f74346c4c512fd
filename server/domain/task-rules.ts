import type { TaskKind, TaskStatus } from './states.js';

/**
 * What happens to a task when it becomes ready and when its work ends. Pure:
 * the store applies these decisions inside its transactions.
 */

/** How a session's work on a task ended, as the runner reports it. */
export type TaskOutcome =
  | { kind: 'succeeded'; result?: TaskResult }
  /**
   * `permanent`: the failure cannot heal by trying again (the agent CLI is not
   * installed, the repository or base_ref is gone), so no attempt is spent on it.
   */
  | { kind: 'failed'; error: string; result?: TaskResult; permanent?: boolean }
  | { kind: 'blocked'; reason: string; result?: TaskResult };

export interface TaskResult {
  summary?: string;
  artifacts?: unknown;
  branch?: string;
  commits?: { sha: string; subject: string }[];
  costUsd?: number;
  [extra: string]: unknown;
}

/**
 * The outcome recorded instead of one the database refused (a value it cannot
 * store, a constraint): the task fails with the reason, so one bad result
 * costs its own task an attempt and never holds back anyone else's.
 */
export function unrecordableOutcome(outcome: TaskOutcome, reason: string): TaskOutcome {
  return { kind: 'failed', error: `its ${outcome.kind} outcome could not be recorded: ${reason}` };
}

/**
 * Where a ready task goes. Only agent tasks need a session and a lease; the
 * others are held by the tree itself (a group by its children, a gate by a
 * signal, a review by a person) and take no session slot.
 */
export function activationStatus(kind: Exclude<TaskKind, 'agent'>): TaskStatus {
  switch (kind) {
    case 'group':
      return 'running';
    case 'wait_for_signal':
      return 'waiting';
    case 'human_review':
      return 'review';
  }
}

export interface RetryPolicy {
  /** Delay before the second attempt; doubles with each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export type FailureDecision = { retry: true; delayMs: number } | { retry: false };

/**
 * After a failed attempt: try again after an exponential backoff while the
 * task has attempts left, otherwise fail it for good. A permanent failure
 * fails it at once: the next attempt would meet the same wall, only later.
 */
export function decideAfterFailure(attemptsUsed: number, maxAttempts: number, policy: RetryPolicy, permanent = false): FailureDecision {
  if (permanent || attemptsUsed >= maxAttempts) return { retry: false };
  const delayMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attemptsUsed - 1));
  return { retry: true, delayMs };
}

/** A successful agent task that needs a person's approval waits in review. */
export function statusAfterSuccess(requiresApproval: boolean): TaskStatus {
  return requiresApproval ? 'review' : 'succeeded';
}
