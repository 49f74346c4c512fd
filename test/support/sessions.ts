import { randomUUID } from 'node:crypto';
import type { Db } from '../../server/db/database.js';
import { createSession } from '../../server/store/sessions.js';
import { createGoal } from './orchestration.js';

/** A session row for a fresh one-task goal, as the runner creates it when it starts an agent. */
export async function createTestSession(db: Db, run: { taskId?: string; goalId?: string } = {}) {
  let { taskId, goalId } = run;
  if (taskId === undefined || goalId === undefined) {
    const { goal, tasks } = await createGoal(db, [{ key: 'a', title: 'A' }]);
    taskId = tasks[0]!.id;
    goalId = goal.id;
  }
  return createSession(db, {
    id: randomUUID(),
    goalId,
    kind: 'spawned',
    agent: 'command',
    worktreePath: '/tmp/w',
    branch: 'b',
    baseSha: null,
    taskId,
    attempt: 1,
    owner: 'test',
    host: 'test',
    tokenHash: randomUUID(),
  });
}
