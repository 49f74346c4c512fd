import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planGoalTree, type PlannedTask } from '../../server/domain/goal-tree.js';
import { applyGoalCommand, getGoal, insertGoalTree, type NewGoal } from '../../server/store/goals.js';
import { listGoalTasks } from '../../server/store/tasks.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { rowCounts } from '../support/app.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.destroy());

const goal: NewGoal = {
  title: 'Store test',
  description: '',
  repo: '/r',
  baseRef: 'HEAD',
  agent: 'claude',
  childrenMode: 'sequential',
  maxParallel: 4,
  metadata: {},
};

function planOf(count: number, mode: 'sequential' | 'parallel'): PlannedTask[] {
  const result = planGoalTree(
    Array.from({ length: count }, (_, i) => ({ key: `t${i}`, title: `Task ${i}` })),
    mode,
    { maxTasks: 20_000, maxDepth: 8 },
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.tasks;
}

describe('insertGoalTree', () => {
  it('stores 10,000 tasks and their edges across many INSERT chunks', async () => {
    const { goal: stored, tasks } = await insertGoalTree(database.db, goal, planOf(10_000, 'sequential'));
    expect(tasks).toHaveLength(10_000);
    expect(tasks[0]!.unmetDeps).toBe(0);
    expect(tasks[9_999]!.unmetDeps).toBe(1);
    expect(tasks[9_999]!.dependsOn).toEqual([tasks[9_998]!.id]);
    const ready = await sql<{ n: string }>`
      SELECT count(*) AS n FROM tasks WHERE goal_id = ${stored.id} AND status = 'pending' AND unmet_deps = 0`.execute(database.db);
    expect(Number(ready.rows[0]!.n)).toBe(1);
  });

  it('is all or nothing: a failure in a late chunk leaves no goal, task, edge or event behind', async () => {
    const plan = planOf(2_500, 'sequential');
    // Break the last task in a way only the database notices (a CHECK
    // constraint), so the goal row and the first chunks are already written
    // when the statement fails.
    plan[2_499]!.maxAttempts = 0;
    const before = await rowCounts(database.db);
    await expect(insertGoalTree(database.db, goal, plan)).rejects.toThrow(/check constraint/);
    expect(await rowCounts(database.db)).toEqual(before);
  });
});

describe('applyGoalCommand', () => {
  it('is guarded by the state it expects', async () => {
    const { goal: stored } = await insertGoalTree(database.db, goal, planOf(3, 'parallel'));
    expect(await applyGoalCommand(database.db, stored.id, 'resume')).toEqual({
      outcome: 'conflict',
      reason: 'cannot resume a goal that is pending',
    });
    const paused = await applyGoalCommand(database.db, stored.id, 'pause');
    expect(paused.outcome).toBe('applied');
    expect((await getGoal(database.db, stored.id))!.status).toBe('paused');
  });

  it('cancel leaves finished tasks alone and cancels the rest', async () => {
    const { goal: stored, tasks } = await insertGoalTree(database.db, goal, planOf(3, 'sequential'));
    await database.db.updateTable('tasks').set({ status: 'succeeded' }).where('id', '=', tasks[0]!.id).execute();
    await applyGoalCommand(database.db, stored.id, 'cancel');
    const after = await listGoalTasks(database.db, stored.id);
    expect(after.map((t) => t.status)).toEqual(['succeeded', 'cancelled', 'cancelled']);
  });

  it('reports an unknown goal', async () => {
    expect(await applyGoalCommand(database.db, '00000000-0000-4000-8000-000000000000', 'pause')).toEqual({ outcome: 'not_found' });
  });
});
