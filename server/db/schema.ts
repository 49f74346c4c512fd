import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { ChildrenMode, GoalStatus, SessionPolicy, TaskKind, TaskRoute, TaskStatus } from '../domain/states.js';

/**
 * Table types as Kysely sees them through the CamelCasePlugin: columns are
 * snake_case in SQL and camelCase here.
 */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** numeric columns come back from pg as strings to keep their precision. */
type Numeric = ColumnType<string, number | string | undefined, number | string>;
type BigIntColumn = ColumnType<string, number | string | bigint | undefined, number | string | bigint>;
type NullableNumeric = ColumnType<string | null, number | string | null | undefined, number | string | null>;
type NullableBigInt = ColumnType<string | null, number | string | bigint | null | undefined, number | string | bigint | null>;
type Json<T extends object> = JSONColumnType<T, T, T>;
type NullableJson<T> = ColumnType<T | null, T | null | undefined, T | null>;

export interface GoalsTable {
  id: string;
  seq: Generated<string>;
  title: string;
  description: Generated<string>;
  repo: string;
  baseRef: string;
  branch: string | null;
  agent: string;
  childrenMode: ChildrenMode;
  status: GoalStatus;
  maxParallel: number;
  metadata: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  costUsd: Numeric;
  inputTokens: BigIntColumn;
  outputTokens: BigIntColumn;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  startedAt: NullableTimestamp;
  finishedAt: NullableTimestamp;
}

export interface TasksTable {
  id: string;
  goalId: string;
  parentId: string | null;
  key: string;
  ordinal: number;
  position: number;
  depth: number;
  title: string;
  instructions: Generated<string>;
  acceptance: string | null;
  kind: TaskKind;
  sessionPolicy: SessionPolicy;
  route: TaskRoute;
  childrenMode: ChildrenMode;
  agent: string | null;
  status: TaskStatus;
  priority: Generated<number>;
  attempt: Generated<number>;
  attemptFloor: Generated<number>;
  maxAttempts: number;
  unmetDeps: Generated<number>;
  notBefore: NullableTimestamp;
  timeoutS: number | null;
  requiresApproval: Generated<boolean>;
  gate: NullableJson<unknown>;
  /** The gate as bound when it last opened (attributes taken {from} a task filled in). */
  gateBound: NullableJson<unknown>;
  gateArmedAt: NullableTimestamp;
  gateDeadline: NullableTimestamp;
  reworkCount: Generated<number>;
  result: NullableJson<unknown>;
  error: string | null;
  costUsd: Numeric;
  inputTokens: BigIntColumn;
  outputTokens: BigIntColumn;
  attemptsLog: ColumnType<unknown[], string | undefined, string>;
  leaseOwner: string | null;
  leaseExpiresAt: NullableTimestamp;
  sessionId: string | null;
  metadata: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  startedAt: NullableTimestamp;
  finishedAt: NullableTimestamp;
}

export interface TaskDependenciesTable {
  taskId: string;
  dependsOnId: string;
}

export interface TaskGateKeysTable {
  taskId: string;
  matchKey: string;
}

export interface SessionsTable {
  id: string;
  goalId: string;
  taskId: string | null;
  kind: 'pinned' | 'spawned';
  agent: string;
  worktreePath: string | null;
  branch: string | null;
  baseSha: string | null;
  agentSessionId: string | null;
  host: string | null;
  pid: number | null;
  pidStartedAt: string | null;
  attempt: number | null;
  tokenHash: string | null;
  reported: NullableJson<unknown>;
  pullRequest: NullableJson<unknown>;
  stopRequestedAt: NullableTimestamp;
  status: 'starting' | 'running' | 'idle' | 'ended';
  endReason: string | null;
  exitCode: number | null;
  exitSignal: string | null;
  owner: string | null;
  heartbeatAt: NullableTimestamp;
  costUsd: Numeric;
  inputTokens: BigIntColumn;
  outputTokens: BigIntColumn;
  /** The last running totals the agent reported for its conversation (null: none yet). */
  conversationCostUsd: NullableNumeric;
  conversationInputTokens: NullableBigInt;
  conversationOutputTokens: NullableBigInt;
  logLines: BigIntColumn;
  /** Lines counted in logLines that are not stored: never written (see logUnwritten), or removed by the bound on kept lines. */
  logDropped: BigIntColumn;
  /** Of logDropped, the lines never written: the database took nothing for too long. */
  logUnwritten: BigIntColumn;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  startedAt: NullableTimestamp;
  endedAt: NullableTimestamp;
}

export interface SessionLogsTable {
  sessionId: string;
  seq: BigIntColumn;
  stream: 'stdout' | 'stderr' | 'event';
  at: Timestamp;
  text: string;
}

export interface SignalsTable {
  id: string;
  type: string;
  attributes: Json<Record<string, string | number>>;
  matchKeys: string[];
  status: 'pass' | 'fail';
  summary: string | null;
  artifacts: NullableJson<unknown>;
  idempotencyKey: string | null;
  source: 'api' | 'github' | 'task';
  matchedTaskIds: ColumnType<string[], string[] | undefined, string[]>;
  receivedAt: Timestamp;
}

export interface EventsTable {
  id: Generated<string>;
  goalId: string | null;
  taskId: string | null;
  sessionId: string | null;
  signalId: string | null;
  type: string;
  data: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  at: Timestamp;
}

export interface InstancesTable {
  id: string;
  host: string;
  pid: number;
  pidStartedAt: string | null;
  startedAt: Timestamp;
  heartbeatAt: Timestamp;
}

export interface GoalLanesTable {
  goalId: string;
  holder: string;
  expiresAt: Date;
  acquiredAt: Timestamp;
  runningTaskId: string | null;
}

export interface PortBlocksTable {
  host: string;
  slot: number;
  owner: string;
  sessionId: string | null;
  takenAt: Timestamp;
}

export interface Database {
  goals: GoalsTable;
  tasks: TasksTable;
  taskDependencies: TaskDependenciesTable;
  taskGateKeys: TaskGateKeysTable;
  sessions: SessionsTable;
  sessionLogs: SessionLogsTable;
  signals: SignalsTable;
  events: EventsTable;
  instances: InstancesTable;
  goalLanes: GoalLanesTable;
  portBlocks: PortBlocksTable;
  templates: TemplatesTable;
  triggers: TriggersTable;
  triggerRuns: TriggerRunsTable;
  taskRuns: TaskRunsTable;
  eventCursors: EventCursorsTable;
  notificationDeliveries: NotificationDeliveriesTable;
}

export type TaskRunOutcome = 'succeeded' | 'failed' | 'blocked' | 'interrupted';

export interface TaskRunsTable {
  id: string;
  taskId: string;
  sessionId: string;
  attempt: number;
  prompt: string;
  baseSha: string | null;
  logFromSeq: BigIntColumn;
  logToSeq: NullableBigInt;
  startedAt: Timestamp;
  endedAt: NullableTimestamp;
  outcome: TaskRunOutcome | null;
  error: string | null;
}

export interface TemplatesTable {
  name: string;
  description: Generated<string>;
  parameters: Json<Record<string, unknown>>;
  body: Json<Record<string, unknown>>;
  source: 'api' | 'file';
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

export interface TriggersTable {
  id: string;
  templateName: string;
  kind: 'schedule' | 'github';
  params: Json<Record<string, unknown>>;
  cron: string | null;
  timeZone: string | null;
  event: string | null;
  filters: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  paramsFrom: ColumnType<Record<string, string>, Record<string, string> | undefined, Record<string, string>>;
  createdAt: Timestamp;
}

export interface TriggerRunsTable {
  triggerId: string;
  slot: string;
  goalId: string | null;
  error: string | null;
  createdAt: Timestamp;
}

export interface EventCursorsTable {
  name: string;
  afterId: BigIntColumn;
  updatedAt: Timestamp;
}

export interface NotificationDeliveriesTable {
  id: Generated<string>;
  eventId: BigIntColumn;
  target: string;
  targetHost: string;
  kind: string;
  goalId: string | null;
  taskId: string | null;
  payload: Json<Record<string, unknown>>;
  status: ColumnType<'pending' | 'delivered' | 'failed', 'pending' | 'delivered' | 'failed' | undefined, 'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  nextAttemptAt: Timestamp;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Timestamp;
  finishedAt: NullableTimestamp;
}
