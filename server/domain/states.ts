/**
 * The vocabulary of the goal tree and the rules for moving a goal between
 * states. Pure: no I/O, nothing of ours imported.
 */

export const TASK_STATUSES = [
  'pending',
  'running',
  'waiting',
  'review',
  'succeeded',
  'failed',
  'blocked',
  'skipped',
  'cancelled',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const GOAL_STATUSES = ['pending', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
export type GoalStatus = (typeof GOAL_STATUSES)[number];

export const TASK_KINDS = ['agent', 'wait_for_signal', 'human_review', 'group'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export const SESSION_POLICIES = ['pinned', 'spawn', 'auto'] as const;
export type SessionPolicy = (typeof SESSION_POLICIES)[number];

/** The lane a task's session runs in: the goal's one pinned session, or its own spawned one. */
export const TASK_ROUTES = ['pinned', 'spawned'] as const;
export type TaskRoute = (typeof TASK_ROUTES)[number];

export const CHILDREN_MODES = ['sequential', 'parallel'] as const;
export type ChildrenMode = (typeof CHILDREN_MODES)[number];

export const AGENTS = ['claude', 'codex', 'command'] as const;
export type AgentName = (typeof AGENTS)[number];

/** A task in one of these states never changes again without a person's retry. */
export const TERMINAL_TASK_STATUSES: readonly TaskStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

/** States from which a goal can no longer move. */
export const TERMINAL_GOAL_STATUSES: readonly GoalStatus[] = ['succeeded', 'failed', 'cancelled'];

export function isTerminalTaskStatus(status: TaskStatus): boolean {
  return TERMINAL_TASK_STATUSES.includes(status);
}

export type GoalCommand = 'pause' | 'resume' | 'cancel';

/**
 * Which states each goal command may start from and where it leads. A goal is
 * `pending` until its first task is dispatched; pausing or cancelling it then
 * is as valid as for a running one. `resume` returns to `running` even when no
 * task had started yet: the orchestrator treats pending and running alike.
 */
export const GOAL_COMMANDS: Record<GoalCommand, { from: readonly GoalStatus[]; to: GoalStatus }> = {
  pause: { from: ['pending', 'running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  cancel: { from: ['pending', 'running', 'paused'], to: 'cancelled' },
};

export type GoalTransition =
  | { ok: true; from: GoalStatus; to: GoalStatus }
  | { ok: false; reason: string };

export function planGoalTransition(command: GoalCommand, current: GoalStatus): GoalTransition {
  const rule = GOAL_COMMANDS[command];
  if (!rule.from.includes(current)) {
    return { ok: false, reason: `cannot ${command} a goal that is ${current}` };
  }
  return { ok: true, from: current, to: rule.to };
}
