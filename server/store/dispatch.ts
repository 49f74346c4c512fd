import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { activationStatus } from '../domain/task-rules.js';
import type { RetryPolicy } from '../domain/task-rules.js';
import { applyCompletions, type Completion, type CompletionReport } from './completion.js';
import { EVENTS_CHANNEL, type NewEvent } from './events.js';
import { expireGateDeadlines, openGates } from './holds.js';
import type { Goal } from './goals.js';
import type { Task } from './tasks.js';
import type { SweepResult } from './batches.js';
import { retryingConflicts, withEvents } from './transactions.js';
import { fromSqlEvents, type SqlEvent } from './tree-propagation.js';

/**
 * Finding ready work and taking it.
 *
 * A task is ready when it is pending, every dependency has succeeded or been
 * skipped (`unmet_deps = 0`, kept current by completions), its backoff has
 * passed and its goal is open and not paused. Partial indexes hold exactly the
 * pending tasks with no unmet dependencies (agent tasks by goal in dispatch
 * order, held kinds apart), so finding work costs what is ready — not what is
 * stored.
 */

export interface ClaimedTask {
  task: Task;
  goal: Goal;
}

export interface ClaimOptions {
  owner: string;
  /** Session slots this instance has free. */
  capacity: number;
  /** How many of those may start a spawned session now (the spawn rate limit). */
  spawnBudget: number;
  leaseMs: number;
}

export interface ClaimResult {
  claimed: ClaimedTask[];
  /** Ready work may remain that this claim did not look at: claim again. */
  more: boolean;
  /** The event id the NOTIFY of this claim's own transaction carries (null: none, or not known): a wake-up to ignore. */
  notified: string | null;
}

const READY = sql`t.status = 'pending' AND t.unmet_deps = 0 AND (t.not_before IS NULL OR t.not_before <= now())`;
const OPEN_GOAL = sql`g.status IN ('pending', 'running')`;

/**
 * Claims up to `capacity` ready agent tasks for `owner`, respecting each
 * goal's `max_parallel` and its pinned lane (one pinned task at a time).
 *
 * One statement (arbor_claim inside arbor_dispatch, migration 0012), its own
 * transaction: candidates are found without locks; then their goals are
 * locked in id order (so claimers cannot deadlock each other), which makes
 * "how many of this goal's tasks run now" a stable count while it decides,
 * and the picked tasks are taken with SKIP LOCKED and re-checked, so two
 * claimers never take the same task. A tick that finds nothing costs that
 * one statement.
 */
export async function claimReadyTasks(db: Db, options: ClaimOptions): Promise<ClaimResult> {
  if (options.capacity <= 0) return { claimed: [], more: false, notified: null };
  const { claimed, more, notified } = await dispatchHop(db, [], options);
  return { claimed, more, notified };
}

/**
 * Records finished runs and claims what they released, in one transaction:
 * one commit (and one wait for the disk) between a task's success and the
 * next task's dispatch, instead of two. When every run succeeded — nearly
 * always — that transaction is one statement (arbor_dispatch); a failure
 * takes the longer way, its retry decided by the domain's rule.
 */
export async function completeAndClaim(
  db: Db,
  completions: Completion[],
  policy: RetryPolicy,
  options: ClaimOptions,
): Promise<{ report: CompletionReport } & ClaimResult> {
  if (completions.every((c) => c.outcome.kind === 'succeeded')) return dispatchHop(db, completions, options);
  return withEvents(db, async (trx, events) => {
    const report = await applyCompletions(trx, options.owner, completions, policy, events);
    const { rows } = await sql<{ claimed: string[]; more: boolean; events: SqlEvent[] }>`
      SELECT claimed, more, events FROM arbor_claim(${options.owner}, ${options.capacity}, ${spawnBudget(options)}, ${options.leaseMs / 1000})`.execute(trx);
    events.push(...fromSqlEvents(rows[0]!.events));
    const ids = rows[0]!.claimed;
    const tasks = ids.length === 0 ? [] : await trx.selectFrom('tasks').selectAll().where('id', 'in', ids).orderBy('priority', 'desc').orderBy('ordinal').execute();
    // withEvents writes the events (and its NOTIFY) after this returns: not a notification to recognise.
    return { report, claimed: await withGoals(trx, tasks), more: rows[0]!.more, notified: null };
  });
}

/** The spawn budget as the database takes it: "no limit" is the capacity. */
const spawnBudget = (options: ClaimOptions) => Math.max(0, Math.min(options.spawnBudget, options.capacity));

type DispatchRow = Task & {
  report: { applied: string[]; holds_ready: boolean; more: boolean; notified: string | null } | null;
  goal: GoalJson | null;
};

/** Successful runs recorded, roll-ups, the claim and their events: one statement, its own transaction. */
async function dispatchHop(db: Db, successes: Completion[], options: ClaimOptions): Promise<{ report: CompletionReport } & ClaimResult> {
  const capacity = Math.max(0, options.capacity);
  const rows = await retryingConflicts(async () => {
    const { rows } = await sql<DispatchRow>`
      SELECT h.report, h.goal, (h.task).* FROM arbor_dispatch(${options.owner}, ${successes.map((c) => c.taskId)}::uuid[],
        ${successes.map((c) => c.attempt)}::int[],
        ${successes.map((c) => JSON.stringify(c.outcome.kind === 'succeeded' ? (c.outcome.result ?? null) : null))}::jsonb[],
        ${capacity}, ${spawnBudget(options)}, ${options.leaseMs / 1000}, ${EVENTS_CHANNEL}) h`.execute(db);
    return rows;
  });
  const answer = rows[0]!.report!;
  const goals = new Map(rows.filter((r) => r.goal !== null).map((r) => [r.goalId, goalFromJson(r.goal!)]));
  const claimed = rows.filter((r) => r.id !== null).map(({ report: _, goal: __, ...task }) => ({ task, goal: goals.get(task.goalId)! }));
  const applied = new Set(answer.applied);
  return {
    report: { applied: answer.applied, stale: successes.map((c) => c.taskId).filter((id) => !applied.has(id)), holdsReady: answer.holds_ready },
    claimed,
    more: answer.more,
    notified: answer.notified,
  };
}

/** A goal row as arbor_dispatch sends it (to_jsonb, numbers as text). Field by field: a new column fails to compile here. */
type GoalJson = { [K in keyof Goal as SnakeCase<K & string>]: Goal[K] extends Date | null ? string | null : Goal[K] };
type SnakeCase<S extends string> = S extends `${infer H}${infer T}` ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<T>}` : S;

function goalFromJson(g: GoalJson): Goal {
  const date = (v: string | null) => (v === null ? null : new Date(v));
  return {
    id: g.id,
    seq: g.seq,
    title: g.title,
    description: g.description,
    repo: g.repo,
    baseRef: g.base_ref,
    branch: g.branch,
    agent: g.agent,
    childrenMode: g.children_mode,
    status: g.status,
    maxParallel: g.max_parallel,
    metadata: g.metadata,
    costUsd: g.cost_usd,
    inputTokens: g.input_tokens,
    outputTokens: g.output_tokens,
    createdAt: date(g.created_at)!,
    updatedAt: date(g.updated_at)!,
    startedAt: date(g.started_at),
    finishedAt: date(g.finished_at),
  };
}

/** The claimed tasks with their goals, for the runner. */
async function withGoals(db: Db, tasks: Task[]): Promise<ClaimedTask[]> {
  if (tasks.length === 0) return [];
  const goals = await db.selectFrom('goals').selectAll().where('id', 'in', [...new Set(tasks.map((t) => t.goalId))]).execute();
  const goalById = new Map(goals.map((g) => [g.id, g]));
  return tasks.map((task) => ({ task, goal: goalById.get(task.goalId)! }));
}

/**
 * Moves ready tasks that need no session into the state that holds them:
 * groups start running (their children carry the work), gates start waiting
 * for a signal, reviews wait for a person. Returns how many moved.
 */
export async function activateReadyTasks(db: Db, limit = 1000): Promise<SweepResult> {
  // A lock-free probe first: nearly every tick has nothing to activate.
  const { rows: probe } = await sql`
    SELECT 1 FROM tasks t JOIN goals g ON g.id = t.goal_id
    WHERE ${READY} AND t.kind <> 'agent' AND ${OPEN_GOAL} LIMIT 1`.execute(db);
  if (probe.length === 0) return { count: 0, more: false };
  return withEvents(db, async (trx, events) => {
    const { rows } = await sql<{ id: string; goalId: string; kind: Exclude<Task['kind'], 'agent'> }>`
      SELECT t.id, t.goal_id, t.kind FROM tasks t JOIN goals g ON g.id = t.goal_id
      WHERE ${READY} AND t.kind <> 'agent' AND ${OPEN_GOAL}
      ORDER BY t.priority DESC, t.created_at, t.goal_id, t.ordinal
      LIMIT ${limit}
      FOR UPDATE OF t SKIP LOCKED`.execute(trx);
    for (const kind of ['group', 'wait_for_signal', 'human_review'] as const) {
      const ids = rows.filter((r) => r.kind === kind).map((r) => r.id);
      if (ids.length === 0) continue;
      const to = activationStatus(kind);
      await trx
        .updateTable('tasks')
        .set({ status: to, startedAt: sql`coalesce(started_at, now())`, updatedAt: sql`now()` })
        .where('id', 'in', ids)
        .execute();
      for (const row of rows.filter((r) => r.kind === kind)) {
        events.push({ type: 'task.status_changed', goalId: row.goalId, taskId: row.id, data: { from: 'pending', to } });
      }
    }
    // Gates apply what arrived before they opened.
    await openGates(trx, rows.filter((r) => r.kind === 'wait_for_signal').map((r) => r.id), events);
    events.push(...(await startGoals(trx, [...new Set(rows.map((r) => r.goalId))])));
    return { count: rows.length, more: rows.length === limit };
  });
}

/** A goal is `pending` until the first of its tasks moves. */
async function startGoals(trx: Db, goalIds: string[]): Promise<NewEvent[]> {
  if (goalIds.length === 0) return [];
  const started = await trx
    .updateTable('goals')
    .set({ status: 'running', startedAt: sql`now()`, updatedAt: sql`now()` })
    .where('id', 'in', goalIds)
    .where('status', '=', 'pending')
    .returning('id')
    .execute();
  return started.map((g) => ({ type: 'goal.status_changed', goalId: g.id, data: { from: 'pending', to: 'running' } }));
}

/** Gates whose time ran out, decided as their `on_timeout` says. */
export async function sweepGateDeadlines(db: Db, limit = 100): Promise<SweepResult> {
  return withEvents(db, async (trx, events) => {
    const count = await expireGateDeadlines(trx, events, limit);
    return { count, more: count === limit };
  });
}
