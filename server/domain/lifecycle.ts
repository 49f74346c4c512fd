/**
 * What the log says about the life of goals, gates and reviews, read from the
 * event log: one line per change a person watching the server cares about.
 * Pure: the observer (server/observability) reads events and writes lines.
 * Agent task starts and ends are logged where this instance runs them.
 */

/** An agent's error can be pages of stderr; the task keeps it whole, a log line the start of it. */
export const LOGGED_ERROR_MAX_CHARS = 1000;

/** The start of an error, as a log line carries it. */
export function loggedError(error: unknown): unknown {
  return typeof error === 'string' ? error.slice(0, LOGGED_ERROR_MAX_CHARS) : error;
}

/** An event with the goal and task facts a line names. */
export interface LifecycleEvent {
  type: string;
  data: Record<string, unknown>;
  goalId: string | null;
  goalTitle: string | null;
  taskId: string | null;
  taskKey: string | null;
}

export type LifecycleLevel = 'info' | 'warn';

export interface LifecycleLine {
  level: LifecycleLevel;
  msg: string;
  fields: Record<string, unknown>;
}

/** Gate outcomes, for the line and for the gates metric. */
export type GateVerdict = 'passed' | 'failed';

/** A gate's verdict when its task leaves `waiting`: succeeded is a pass; sent back to rework or failed is a fail. */
export function gateVerdict(event: LifecycleEvent): GateVerdict | null {
  if (event.type !== 'task.status_changed' || event.data.from !== 'waiting') return null;
  if (event.data.to === 'succeeded') return 'passed';
  if (event.data.to === 'pending' || event.data.to === 'failed') return 'failed';
  return null;
}

/** The error a running task's attempt ended with, when it ended in a retry (`pending`) or for good (`failed`). */
export function attemptFailure(event: LifecycleEvent): { retried: boolean; error: string; permanent: boolean } | null {
  if (event.type !== 'task.status_changed' || event.data.from !== 'running') return null;
  if (event.data.to !== 'pending' && event.data.to !== 'failed') return null;
  if (typeof event.data.error !== 'string') return null;
  return { retried: event.data.to === 'pending', error: event.data.error, permanent: event.data.permanent === true };
}

export function lifecycleLine(event: LifecycleEvent): LifecycleLine | null {
  const goal = { goal_id: event.goalId, goal: event.goalTitle };
  const task = { ...goal, task_id: event.taskId, task_key: event.taskKey };
  const { from, to } = event.data;
  if (event.type === 'goal.created') return { level: 'info', msg: 'goal created', fields: goal };
  if (event.type === 'goal.status_changed') {
    switch (to) {
      case 'succeeded':
      case 'cancelled':
      case 'paused':
        return { level: 'info', msg: `goal ${to}`, fields: goal };
      case 'failed':
        return { level: 'warn', msg: 'goal failed', fields: goal };
      case 'running':
        return from === 'paused' ? { level: 'info', msg: 'goal resumed', fields: goal } : null;
    }
    return null;
  }
  if (event.type !== 'task.status_changed' || from === to) return null;
  const verdict = gateVerdict(event);
  if (verdict) return { level: 'info', msg: `gate ${verdict}`, fields: { ...task, ...(to === 'pending' ? { rework: event.data.rework } : {}) } };
  if (to === 'waiting') return { level: 'info', msg: 'gate opened', fields: task };
  if (to === 'review') return { level: 'info', msg: 'review needed', fields: task };
  if (from === 'review' && to === 'succeeded') return { level: 'info', msg: 'review approved', fields: task };
  if (from === 'review' && (to === 'pending' || to === 'failed')) return { level: 'info', msg: 'review rejected', fields: task };
  if (to === 'blocked') return { level: 'warn', msg: 'task blocked', fields: { ...task, reason: event.data.reason } };
  if (to === 'failed') return { level: 'warn', msg: 'task failed', fields: { ...task, attempt: event.data.attempt, error: loggedError(event.data.error ?? event.data.reason) } };
  return null;
}
