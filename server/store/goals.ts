import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { GoalsTable } from '../db/schema.js';
import type { PlannedTask } from '../domain/goal-tree.js';
import {
  TERMINAL_TASK_STATUSES,
  planGoalTransition,
  type AgentName,
  type ChildrenMode,
  type GoalCommand,
  type GoalStatus,
} from '../domain/states.js';
import { chunks } from './batches.js';
import { inTransaction } from './transactions.js';
import { appendEvents } from './events.js';
import { plannedTaskRows } from './task-rows.js';
import { listGoalTasks, type TaskWithDeps } from './tasks.js';

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

/** Rows per INSERT: keeps each statement well under Postgres' 65,535 parameters. */
const INSERT_CHUNK = 1000;

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
    // Preorder: every parent is in an earlier (or the same) chunk than its children.
    for (const chunk of chunks(rows.tasks, INSERT_CHUNK)) await trx.insertInto('tasks').values(chunk).execute();

    const edges = plan.flatMap((t) => t.dependsOn.map((d) => ({ taskId: ids[t.index]!, dependsOnId: ids[d]! })));
    for (const chunk of chunks(edges, INSERT_CHUNK * 5)) await trx.insertInto('taskDependencies').values(chunk).execute();

    for (const chunk of chunks(rows.gateKeys, INSERT_CHUNK * 5)) await trx.insertInto('taskGateKeys').values(chunk).execute();

    await appendEvents(trx, [
      { type: 'goal.created', goalId, data: { title: goal.title, tasks: plan.length, edges: edges.length } },
    ]);
    return { goal: stored, tasks: await listGoalTasks(trx, goalId) };
  });
}

export async function getGoal(db: Db, id: string): Promise<Goal | undefined> {
  return db.selectFrom('goals').selectAll().where('id', '=', id).executeTakeFirst();
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
