import { randomUUID } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { GoalsTable } from '../db/schema.js';
import type { PlannedTask } from '../domain/goal-tree.js';
import {
  TERMINAL_GOAL_STATUSES,
  TERMINAL_TASK_STATUSES,
  planGoalTransition,
  type AgentName,
  type ChildrenMode,
  type GoalCommand,
  type GoalStatus,
} from '../domain/states.js';
import { inTransaction } from './transactions.js';
import { appendEvents } from './events.js';
import { plannedTaskRows } from './task-rows.js';
import type { Task, TaskWithDeps } from './tasks.js';

export type Goal = Selectable<GoalsTable>;

export interface NewGoal {
  title: string;
  description: string;
  repo: string;
  baseRef: string;
  agent: AgentName;
  childrenMode: ChildrenMode;
  maxParallel: number;
  metadata: Record<string, unknown>;
}

/**
 * Stores a goal, its whole task tree and every dependency edge in one
 * transaction: a goal is either there complete or not at all.
 */
export async function insertGoalTree(
  db: Db,
  goal: NewGoal,
  plan: PlannedTask[],
): Promise<{ goal: Goal; tasks: TaskWithDeps[] }> {
  const goalId = randomUUID();
  const ids = plan.map(() => randomUUID());
  return inTransaction(db, async (trx) => {
    const stored = await trx
      .insertInto('goals')
      .values({ id: goalId, ...goal, status: 'pending' })
      .returningAll()
      .executeTakeFirstOrThrow();

    const rows = plannedTaskRows(plan, ids, goalId, (t) => ({
      parentId: t.parentIndex === null ? null : ids[t.parentIndex]!,
      ordinal: t.index,
      position: t.position,
      unmetDeps: t.dependsOn.length,
    }));
    const inserted = await insertTaskRows(trx, goalId, rows.tasks);
    const edges = plan.flatMap((t) => t.dependsOn.map((d) => ({ taskId: ids[t.index]!, dependsOnId: ids[d]! })));
    if (edges.length > 0) {
      await sql`
        INSERT INTO task_dependencies (task_id, depends_on_id)
        SELECT * FROM unnest(${edges.map((e) => e.taskId)}::uuid[], ${edges.map((e) => e.dependsOnId)}::uuid[])`.execute(trx);
    }
    if (rows.gateKeys.length > 0) {
      await sql`
        INSERT INTO task_gate_keys (task_id, match_key)
        SELECT * FROM unnest(${rows.gateKeys.map((k) => k.taskId)}::uuid[], ${rows.gateKeys.map((k) => k.matchKey)}::text[])`.execute(trx);
    }

    await appendEvents(trx, [
      { type: 'goal.created', goalId, data: { title: goal.title, tasks: plan.length, edges: edges.length } },
    ]);
    const dependsOn = new Map<string, string[]>(plan.map((t) => [ids[t.index]!, t.dependsOn.map((d) => ids[d]!)]));
    return { goal: stored, tasks: inserted.map((task) => ({ ...task, dependsOn: dependsOn.get(task.id) ?? [] })) };
  });
}

/**
 * A goal's task rows in one statement whatever their number: one array per
 * column, unnested (parameters stay at 21, where a VALUES list needs 23 per
 * row and chunks). Returns the stored rows, in tree order.
 */
async function insertTaskRows(trx: Db, goalId: string, tasks: ReturnType<typeof plannedTaskRows>['tasks']): Promise<Task[]> {
  const column = <K extends keyof (typeof tasks)[number]>(key: K) => tasks.map((t) => t[key]);
  const json = (values: unknown[]) => values.map((v) => (v === null || v === undefined ? null : JSON.stringify(v)));
  const { rows } = await sql<Task>`
    INSERT INTO tasks (id, goal_id, parent_id, ordinal, position, unmet_deps, key, depth, title, instructions, acceptance, kind,
                       session_policy, route, children_mode, agent, status, priority, max_attempts, timeout_s, requires_approval, gate, metadata)
    SELECT v.id, ${goalId}::uuid, v.parent_id, v.ordinal, v.position, v.unmet_deps, v.key, v.depth, v.title, v.instructions, v.acceptance,
           v.kind, v.session_policy, v.route, v.children_mode, v.agent, 'pending', v.priority, v.max_attempts, v.timeout_s, v.requires_approval,
           v.gate, coalesce(v.metadata, '{}')
    FROM unnest(${column('id')}::uuid[], ${column('parentId')}::uuid[], ${column('ordinal')}::int[], ${column('position')}::int[],
                ${column('unmetDeps')}::int[], ${column('key')}::text[], ${column('depth')}::int[], ${column('title')}::text[],
                ${column('instructions')}::text[], ${column('acceptance')}::text[], ${column('kind')}::text[], ${column('sessionPolicy')}::text[],
                ${column('route')}::text[], ${column('childrenMode')}::text[], ${column('agent')}::text[], ${column('priority')}::int[],
                ${column('maxAttempts')}::int[], ${column('timeoutS')}::int[], ${column('requiresApproval')}::boolean[],
                ${json(column('gate'))}::jsonb[], ${json(column('metadata'))}::jsonb[])
      AS v(id, parent_id, ordinal, position, unmet_deps, key, depth, title, instructions, acceptance, kind, session_policy, route,
           children_mode, agent, priority, max_attempts, timeout_s, requires_approval, gate, metadata)
    ORDER BY v.ordinal
    RETURNING *`.execute(trx);
  return rows;
}

export async function getGoal(db: Db, id: string): Promise<Goal | undefined> {
  return db.selectFrom('goals').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Ended goals among those whose ids start with one of `prefixes` (8 hex
 * digits, as worktree directories are named). A range over the primary key
 * per prefix, so the goals table is never scanned.
 */
export async function endedGoalsByIdPrefix(db: Db, prefixes: readonly string[]): Promise<{ id: string; repo: string }[]> {
  if (prefixes.length === 0) return [];
  const { rows } = await sql<{ id: string; repo: string }>`
    SELECT g.id, g.repo FROM unnest(${prefixes}::text[]) AS p(prefix)
    JOIN goals g ON g.id BETWEEN (p.prefix || '-0000-0000-0000-000000000000')::uuid AND (p.prefix || '-ffff-ffff-ffff-ffffffffffff')::uuid
    WHERE g.status IN (${sql.join(TERMINAL_GOAL_STATUSES)})`.execute(db);
  return rows;
}

export interface GoalPage {
  goals: Goal[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** Newest first, keyset-paginated on the creation sequence so pages never skip or repeat. */
export async function listGoals(
  db: Db,
  options: { status?: GoalStatus; limit: number; cursor?: string },
): Promise<GoalPage> {
  let query = db.selectFrom('goals').selectAll().orderBy('seq', 'desc').limit(options.limit + 1);
  if (options.status) query = query.where('status', '=', options.status);
  if (options.cursor) query = query.where('seq', '<', options.cursor);
  const rows = await query.execute();
  const goals = rows.slice(0, options.limit);
  const more = rows.length > options.limit;
  return { goals, nextCursor: more ? goals[goals.length - 1]!.seq : null };
}

export type GoalCommandResult =
  | { outcome: 'applied'; goal: Goal }
  | { outcome: 'not_found' }
  | { outcome: 'conflict'; reason: string };

/**
 * Pause, resume or cancel a goal. The goal row is locked, the transition
 * checked against its current state and written guarded by that state, so two
 * racing commands cannot both apply. Cancelling also cancels every task that
 * has not finished, in the same transaction.
 */
export async function applyGoalCommand(db: Db, id: string, command: GoalCommand): Promise<GoalCommandResult> {
  return inTransaction(db, async (trx) => {
    const current = await trx.selectFrom('goals').select('status').where('id', '=', id).forUpdate().executeTakeFirst();
    if (!current) return { outcome: 'not_found' };
    const transition = planGoalTransition(command, current.status);
    if (!transition.ok) return { outcome: 'conflict', reason: transition.reason };

    const now = new Date();
    const goal = await trx
      .updateTable('goals')
      .set({
        status: transition.to,
        updatedAt: now,
        ...(transition.to === 'cancelled' ? { finishedAt: now } : {}),
      })
      .where('id', '=', id)
      .where('status', '=', transition.from)
      .returningAll()
      .executeTakeFirstOrThrow();

    const events: Parameters<typeof appendEvents>[1] = [
      { type: 'goal.status_changed', goalId: id, data: { from: transition.from, to: transition.to, reason: command } },
    ];
    if (command === 'cancel') {
      const cancelled = await trx
        .updateTable('tasks')
        .set({ status: 'cancelled', updatedAt: now, finishedAt: now, leaseOwner: null, leaseExpiresAt: null })
        .where('goalId', '=', id)
        .where('status', 'not in', TERMINAL_TASK_STATUSES)
        .returning('id')
        .execute();
      for (const task of cancelled) {
        events.push({ type: 'task.status_changed', goalId: id, taskId: task.id, data: { to: 'cancelled', reason: 'goal cancelled' } });
      }
    }
    await appendEvents(trx, events);
    return { outcome: 'applied', goal };
  });
}

/** Records the goal's branch the first time a session creates it. */
export async function setGoalBranch(db: Db, goalId: string, branch: string): Promise<void> {
  await db.updateTable('goals').set({ branch }).where('id', '=', goalId).where('branch', 'is', null).execute();
}
