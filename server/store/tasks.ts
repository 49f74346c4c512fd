import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { TasksTable } from '../db/schema.js';

export type Task = Selectable<TasksTable>;
/** A task with the ids of the tasks it waits for. */
export type TaskWithDeps = Task & { dependsOn: string[] };

/** A goal's tasks in tree order (every parent before its children), each with its dependencies. */
export async function listGoalTasks(db: Db, goalId: string): Promise<TaskWithDeps[]> {
  const [tasks, edges] = await Promise.all([
    db.selectFrom('tasks').selectAll().where('goalId', '=', goalId).orderBy('ordinal').execute(),
    db
      .selectFrom('taskDependencies as d')
      .innerJoin('tasks as t', 't.id', 'd.taskId')
      .select(['d.taskId', 'd.dependsOnId'])
      .where('t.goalId', '=', goalId)
      .execute(),
  ]);
  const deps = new Map<string, string[]>();
  for (const edge of edges) {
    const list = deps.get(edge.taskId) ?? [];
    list.push(edge.dependsOnId);
    deps.set(edge.taskId, list);
  }
  return tasks.map((task) => ({ ...task, dependsOn: deps.get(task.id) ?? [] }));
}

export async function getTask(db: Db, id: string): Promise<TaskWithDeps | undefined> {
  const task = await db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
  if (!task) return undefined;
  const edges = await db.selectFrom('taskDependencies').select('dependsOnId').where('taskId', '=', id).execute();
  return { ...task, dependsOn: edges.map((e) => e.dependsOnId) };
}

export interface TaskContext {
  parent: { title: string; instructions: string } | null;
  /** Direct dependencies, and the children of those that are groups, with their summaries. */
  dependencies: { key: string; title: string; summary: string | null }[];
}

/** What a task's prompt needs to know about its place in the tree. */
export async function getTaskContext(db: Db, task: Pick<Task, 'id' | 'parentId'>): Promise<TaskContext> {
  const parent = task.parentId
    ? await db.selectFrom('tasks').select(['title', 'instructions']).where('id', '=', task.parentId).executeTakeFirst()
    : undefined;
  const { rows } = await sql<{ key: string; title: string; summary: string | null }>`
    WITH deps AS (SELECT depends_on_id AS id FROM task_dependencies WHERE task_id = ${task.id})
    SELECT t.key, t.title, t.result->>'summary' AS summary FROM tasks t
    WHERE t.id IN (SELECT id FROM deps) OR t.parent_id IN (SELECT id FROM deps)
    ORDER BY t.ordinal`.execute(db);
  return { parent: parent ?? null, dependencies: rows };
}
