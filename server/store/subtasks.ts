import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { TaskSpec, TreeError, TreeLimits } from '../domain/goal-tree.js';
import type { AgentName, ChildrenMode } from '../domain/states.js';
import { planSubtasks } from '../domain/subtasks.js';
import { chunks } from './batches.js';
import { plannedTaskRows } from './task-rows.js';
import { listGoalTasks, type TaskWithDeps } from './tasks.js';
import { withEvents } from './transactions.js';

/**
 * Tasks an agent adds under its own running task. Each new task carries one
 * unmet dependency more than its edges account for — the hold of the run that
 * added it — so nothing of it starts while that run may still change its mind
 * (or fail). When the run succeeds, completion turns the task into a group
 * (arbor_complete_successes, migration 0012): the hold goes, and the task finishes when its children do.
 */

/** Rows per INSERT, as for a goal's tree: well under Postgres' 65,535 parameters. */
const INSERT_CHUNK = 1000;

export type AddSubtasksResult =
  | { outcome: 'added'; tasks: TaskWithDeps[] }
  /** The caller's run is over (or is not the task's current attempt). */
  | { outcome: 'not_running' }
  | { outcome: 'invalid'; errors: TreeError[] };

export async function addSubtasks(
  db: Db,
  run: { taskId: string; sessionId: string },
  specs: TaskSpec[],
  mode: ChildrenMode | undefined,
  limits: TreeLimits,
): Promise<AddSubtasksResult> {
  return withEvents(db, async (trx, events) => {
    // Fenced like an agent's report: its own live session, at the task's current attempt. Locking the
    // session too makes the run's end (which updates it, before its completion) wait for this insert:
    // the completion then sees the subtasks and holds the task for them.
    const parent = await trx
      .selectFrom('tasks as t')
      .innerJoin('sessions as s', 's.taskId', 't.id')
      .select(['t.id', 't.goalId', 't.depth', 't.requiresApproval', 't.sessionPolicy', 't.agent', 't.childrenMode'])
      .where('t.id', '=', run.taskId)
      .where('t.status', '=', 'running')
      .where('t.kind', '=', 'agent')
      .where('s.id', '=', run.sessionId)
      .where('s.status', 'in', ['starting', 'running'])
      .whereRef('s.attempt', '=', 't.attempt')
      .forUpdate(['t', 's'])
      .executeTakeFirst();
    if (!parent) return { outcome: 'not_running' };
    // The goal's task count and keys must not move while we check them.
    await trx.selectFrom('goals').select('id').where('id', '=', parent.goalId).forNoKeyUpdate().execute();
    const [tasks, edges] = await Promise.all([
      trx.selectFrom('tasks').select(['id', 'key', 'parentId', 'kind', 'status', 'ordinal']).where('goalId', '=', parent.goalId).orderBy('ordinal').execute(),
      trx
        .selectFrom('taskDependencies as d')
        .innerJoin('tasks as t', 't.id', 'd.taskId')
        .select(['d.taskId', 'd.dependsOnId'])
        .where('t.goalId', '=', parent.goalId)
        .execute(),
    ]);
    const plan = planSubtasks(specs, mode, { ...parent, agent: parent.agent as AgentName | null }, { tasks, edges }, limits);
    if (!plan.ok) return { outcome: 'invalid', errors: plan.errors };

    const done = new Set(tasks.filter((t) => t.status === 'succeeded' || t.status === 'skipped').map((t) => t.id));
    const ids = plan.tasks.map(() => randomUUID());
    const firstOrdinal = tasks.reduce((max, t) => Math.max(max, t.ordinal), -1) + 1;
    const siblings = tasks.filter((t) => t.parentId === parent.id).length;
    const rows = plannedTaskRows(plan.tasks, ids, parent.goalId, (t) => ({
      parentId: t.parentIndex === null ? parent.id : ids[t.parentIndex]!,
      ordinal: firstOrdinal + t.index,
      position: t.parentIndex === null ? siblings + t.position : t.position,
      // +1: the hold of the run that adds it.
      unmetDeps: t.dependsOn.length + t.dependsOnExisting.filter((id) => !done.has(id)).length + 1,
    }));
    // Preorder: every parent is in an earlier (or the same) chunk than its children.
    for (const chunk of chunks(rows.tasks, INSERT_CHUNK)) await trx.insertInto('tasks').values(chunk).execute();
    const newEdges = plan.tasks.flatMap((t) => [
      ...t.dependsOn.map((d) => ({ taskId: ids[t.index]!, dependsOnId: ids[d]! })),
      ...t.dependsOnExisting.map((dependsOnId) => ({ taskId: ids[t.index]!, dependsOnId })),
    ]);
    for (const chunk of chunks(newEdges, INSERT_CHUNK * 5)) await trx.insertInto('taskDependencies').values(chunk).execute();
    for (const chunk of chunks(rows.gateKeys, INSERT_CHUNK * 5)) await trx.insertInto('taskGateKeys').values(chunk).execute();
    await trx.updateTable('tasks').set({ childrenMode: plan.mode, updatedAt: sql`now()` }).where('id', '=', parent.id).execute();
    events.push({
      type: 'task.subtasks_added',
      goalId: parent.goalId,
      taskId: parent.id,
      sessionId: run.sessionId,
      data: { keys: plan.tasks.map((t) => t.key), children_mode: plan.mode },
    });
    const added = new Set<string>(ids);
    return { outcome: 'added', tasks: (await listGoalTasks(trx, parent.goalId)).filter((t) => added.has(t.id)) };
  });
}

/** A task's direct children, in order, with what each reported so far. */
export async function listSubtasks(db: Db, taskId: string) {
  const { rows } = await sql<{ key: string; title: string; kind: string; status: string; summary: string | null; error: string | null }>`
    SELECT key, title, kind, status, result->>'summary' AS summary, error FROM tasks
    WHERE parent_id = ${taskId} ORDER BY position, ordinal`.execute(db);
  return rows;
}
