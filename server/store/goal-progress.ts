import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { progressOf, type GoalProgress } from '../domain/goal-progress.js';
import type { TaskKind, TaskStatus } from '../domain/states.js';

/** The progress of each goal named, in one grouped query (a page of goals, not one query per goal). */
export async function goalProgress(db: Db, goalIds: readonly string[]): Promise<Map<string, GoalProgress>> {
  const result = new Map<string, GoalProgress>(goalIds.map((id) => [id, progressOf([])]));
  if (goalIds.length === 0) return result;
  const rows = await db
    .selectFrom('tasks')
    .select(['goalId', 'kind', 'status', sql<string>`count(*)`.as('count')])
    .where('goalId', 'in', goalIds)
    .where('kind', '<>', 'group')
    .groupBy(['goalId', 'kind', 'status'])
    .execute();
  const byGoal = new Map<string, { kind: TaskKind; status: TaskStatus; count: number }[]>();
  for (const row of rows) {
    const list = byGoal.get(row.goalId) ?? [];
    list.push({ kind: row.kind, status: row.status, count: Number(row.count) });
    byGoal.set(row.goalId, list);
  }
  for (const [goalId, list] of byGoal) result.set(goalId, progressOf(list));
  return result;
}
