import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { activationStatus } from '../domain/task-rules.js';
import type { RetryPolicy } from '../domain/task-rules.js';
import { applyCompletions, type Completion, type CompletionReport } from './completion.js';
import { appendEvents, type NewEvent } from './events.js';
import { expireGateDeadlines, openGates } from './holds.js';
import type { Goal } from './goals.js';
import type { Task } from './tasks.js';
import type { SweepResult } from './batches.js';
import { withEvents } from './transactions.js';

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
}

const READY = sql`t.status = 'pending' AND t.unmet_deps = 0 AND (t.not_before IS NULL OR t.not_before <= now())`;
const OPEN_GOAL = sql`g.status IN ('pending', 'running')`;

type Candidate = { id: string; goalId: string; route: Task['route'] };

/** The goal's pinned lane lives on another instance (its conversation is there): its pinned tasks are that instance's to claim. */
const laneHeldElsewhere = (owner: string) =>
  sql`EXISTS (SELECT 1 FROM goal_lanes l WHERE l.goal_id = g.id AND l.holder <> ${owner} AND l.expires_at > now())`;

/**
 * The best ready agent tasks, goal by goal: each open goal with free slots
 * offers at most as many as it has free (and no pinned task while its pinned
 * lane is busy). Walking goals first keeps a goal with thousands of ready
 * tasks from crowding the window, and each goal's own count of running tasks
 * is an index probe.
 */
async function findCandidates(db: Db, limit: number, owner: string): Promise<Candidate[]> {
  const { rows } = await sql<Candidate>`
    SELECT c.id, c.goal_id, c.route
    FROM goals g
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS running, (count(*) FILTER (WHERE route = 'pinned'))::int AS pinned
      FROM tasks WHERE goal_id = g.id AND status = 'running' AND kind = 'agent'
    ) b
    CROSS JOIN LATERAL (
      SELECT t.id, t.goal_id, t.route, t.priority, t.ordinal FROM tasks t
      WHERE t.goal_id = g.id AND ${READY} AND t.kind = 'agent' AND NOT (t.route = 'pinned' AND (b.pinned > 0 OR ${laneHeldElsewhere(owner)}))
      ORDER BY t.priority DESC, t.ordinal
      LIMIT greatest(g.max_parallel - b.running, 0)
    ) c
    WHERE ${OPEN_GOAL} AND b.running < g.max_parallel
    ORDER BY c.priority DESC, g.created_at, g.id, c.ordinal
    LIMIT ${limit}`.execute(db);
  return rows;
}

/**
 * Claims up to `capacity` ready agent tasks for `owner`, respecting each
 * goal's `max_parallel` and its pinned lane (one pinned task at a time).
 *
 * Several instances may claim at once. Candidates are found without locks;
 * then their goals are locked (in id order, so claimers cannot deadlock each
 * other), which makes "how many of this goal's tasks run now" a stable count
 * while we decide, and the picked tasks are taken with SKIP LOCKED and
 * re-checked, so two claimers never take the same task.
 */
export async function claimReadyTasks(db: Db, options: ClaimOptions): Promise<ClaimResult> {
  if (options.capacity <= 0) return { claimed: [], more: false };
  const window = options.capacity * 4;
  // Outside a transaction: most ticks find nothing, and then cost one query.
  const candidates = await findCandidates(db, window, options.owner);
  if (candidates.length === 0) return { claimed: [], more: false };
  const claimed = await withEvents(db, async (trx, events) => {
    const taken = await claimCandidates(trx, candidates, options, events);
    return taken;
  });
  return { claimed, more: candidates.length === window };
}

/**
 * Records finished runs and claims what they released, in one transaction:
 * one commit (and one wait for the disk) between a task's success and the
 * next task's dispatch, instead of two.
 */
export async function completeAndClaim(
  db: Db,
  completions: Completion[],
  policy: RetryPolicy,
  options: ClaimOptions,
): Promise<{ report: CompletionReport } & ClaimResult> {
  return withEvents(db, async (trx, events) => {
    const report = await applyCompletions(trx, options.owner, completions, policy, events);
    const window = options.capacity * 4;
    const candidates = options.capacity > 0 ? await findCandidates(trx, window, options.owner) : [];
    const claimed = candidates.length === 0 ? [] : await claimCandidates(trx, candidates, options, events);
    // One insert (and one NOTIFY) for everything this transaction changed.
    return { report, claimed, more: candidates.length === window };
  });
}

async function claimCandidates(trx: Db, candidates: Candidate[], options: ClaimOptions, events: NewEvent[]): Promise<ClaimedTask[]> {
  const goalIds = [...new Set(candidates.map((c) => c.goalId))].sort();
  const goals = await trx.selectFrom('goals').selectAll().where('id', 'in', goalIds).orderBy('id').forNoKeyUpdate().execute();
  const { rows: busy } = await sql<{ goalId: string; running: number; pinned: number }>`
    SELECT goal_id, count(*)::int AS running, (count(*) FILTER (WHERE route = 'pinned'))::int AS pinned
    FROM tasks WHERE goal_id = ANY(${goalIds}::uuid[]) AND status = 'running' AND kind = 'agent'
    GROUP BY goal_id`.execute(trx);
  const slots = new Map(
    goals
      .filter((g) => g.status === 'pending' || g.status === 'running')
      .map((g) => {
        const b = busy.find((x) => x.goalId === g.id);
        return [g.id, { free: g.maxParallel - (b?.running ?? 0), pinnedBusy: (b?.pinned ?? 0) > 0 }];
      }),
  );
  const picked: string[] = [];
  let spawnBudget = options.spawnBudget;
  for (const candidate of candidates) {
    if (picked.length >= options.capacity) break;
    const slot = slots.get(candidate.goalId);
    if (!slot || slot.free <= 0) continue;
    if (candidate.route === 'pinned') {
      if (slot.pinnedBusy) continue;
      slot.pinnedBusy = true;
    } else {
      if (spawnBudget <= 0) continue;
      spawnBudget -= 1;
    }
    slot.free -= 1;
    picked.push(candidate.id);
  }
  if (picked.length === 0) return [];

  // Taken only if still ready and nobody else holds it: a task another
  // claimer got first is skipped (this claim takes fewer), never waited on.
  const { rows: tasks } = await sql<Task>`
    UPDATE tasks SET status = 'running', attempt = attempt + 1, lease_owner = ${options.owner},
      lease_expires_at = now() + make_interval(secs => ${options.leaseMs / 1000}),
      started_at = coalesce(started_at, now()), not_before = NULL, updated_at = now()
    WHERE id IN (SELECT t.id FROM tasks t WHERE t.id = ANY(${picked}::uuid[]) AND ${READY} FOR UPDATE SKIP LOCKED)
    RETURNING *`.execute(trx);
  if (tasks.length === 0) return [];
  for (const t of tasks) {
    events.push({
      type: 'task.status_changed',
      goalId: t.goalId,
      taskId: t.id,
      data: { from: 'pending', to: 'running', attempt: t.attempt, owner: options.owner, route: t.route },
    });
  }
  const starting = goals.filter((g) => g.status === 'pending' && tasks.some((t) => t.goalId === g.id)).map((g) => g.id);
  events.push(...(await startGoals(trx, starting)));
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
