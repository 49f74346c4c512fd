/** The API's shapes as the dashboard reads them (see /openapi.json; field names are the API's). */

export const TASK_STATUSES = ['pending', 'running', 'waiting', 'review', 'succeeded', 'failed', 'blocked', 'skipped', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const GOAL_STATUSES = ['pending', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
export type GoalStatus = (typeof GOAL_STATUSES)[number];

export interface Progress {
  total: number;
  by_status: Partial<Record<TaskStatus, number>>;
}

export interface Goal {
  id: string;
  title: string;
  description: string;
  repo: string;
  base_ref: string;
  branch: string | null;
  agent: string;
  children_mode: 'sequential' | 'parallel';
  status: GoalStatus;
  max_parallel: number;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress: Progress;
}

export interface Task {
  id: string;
  goal_id: string;
  parent_id: string | null;
  key: string;
  position: number;
  depth: number;
  title: string;
  instructions: string;
  acceptance: string | null;
  kind: 'agent' | 'wait_for_signal' | 'human_review' | 'group';
  session_policy: string;
  route: 'pinned' | 'spawned';
  children_mode: 'sequential' | 'parallel';
  agent: string | null;
  status: TaskStatus;
  attempt: number;
  max_attempts: number;
  not_before: string | null;
  requires_approval: boolean;
  gate: unknown;
  gate_bound: unknown;
  result: unknown;
  error: string | null;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  depends_on: string[];
  session_id: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface GoalWithTasks {
  goal: Goal;
  tasks: Task[];
}

export interface Run {
  id: string;
  task_id: string;
  session_id: string;
  attempt: number;
  prompt: string;
  base_sha?: string | null;
  log_from_seq: number | null;
  log_to_seq: number | null;
  started_at: string;
  ended_at: string | null;
  outcome: string | null;
  error: string | null;
}

export interface Session {
  id: string;
  goal_id: string;
  task_id: string | null;
  kind: 'pinned' | 'spawned';
  agent: string;
  status: 'starting' | 'running' | 'idle' | 'ended';
  branch: string | null;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  log_lines: number;
  created_at: string;
  ended_at: string | null;
}

export interface LogLine {
  seq: number;
  stream: 'stdout' | 'stderr' | 'event';
  text: string;
  at: string;
}

export interface TaskDiff {
  branch: string | null;
  base_sha: string | null;
  head_sha: string | null;
  files: { path: string; old_path?: string | null; status: string; additions: number; deletions: number; binary?: boolean }[];
  patch: string;
  truncated: boolean;
  /** Why there is no diff although there is a branch. */
  note?: string | null;
}

export interface Signal {
  id: string;
  type: string;
  attributes: Record<string, string | number>;
  status: 'pass' | 'fail';
  summary: string | null;
  source: 'api' | 'github' | 'task';
  matched_task_ids: string[];
  matched?: { task_id: string; task_key: string; goal_id: string; goal_title: string }[];
  received_at: string;
}

export interface AuthSession {
  auth_required: boolean;
  signed_in: boolean;
  csrf_token: string | null;
}

export interface ApiErrorBody {
  error: string;
  details?: unknown;
  request_id?: string;
}
