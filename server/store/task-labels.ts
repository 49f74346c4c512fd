import type { Db } from '../db/database.js';

/** What names a task to a person: its key and its goal's title (for lists of ids, such as the gates a signal opened). */
export interface TaskLabel {
  taskId: string;
  taskKey: string;
  goalId: string;
  goalTitle: string;
}

export async function taskLabels(db: Db, taskIds: readonly string[]): Promise<Map<string, TaskLabel>> {
  if (taskIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('tasks')
    .innerJoin('goals', 'goals.id', 'tasks.goalId')
    .select(['tasks.id as taskId', 'tasks.key as taskKey', 'goals.id as goalId', 'goals.title as goalTitle'])
    .where('tasks.id', 'in', [...new Set(taskIds)])
    .execute();
  return new Map(rows.map((row) => [row.taskId, row]));
}
