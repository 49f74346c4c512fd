import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { appendSessionLogs } from '../../server/store/sessions.js';
import { endTaskRun, interruptSessionRuns, listTaskRuns, startTaskRun } from '../../server/store/task-runs.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createTestSession } from '../support/sessions.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.destroy());

const line = (text: string) => ({ stream: 'stdout' as const, text, at: new Date() });

it("a run's log is the stretch of its session's log it wrote; one never seen to end is closed as interrupted", async () => {
  const session = await createTestSession(database.db);
  const taskId = session.taskId!;
  await appendSessionLogs(database.db, session.id, [line('an earlier task')], 100);

  await startTaskRun(database.db, { id: randomUUID(), taskId, sessionId: session.id, attempt: 1, prompt: 'first\u0000prompt', baseSha: null });
  await appendSessionLogs(database.db, session.id, [line('a'), line('b')], 100);
  // Its process went with its Arbor: no end recorded. The next run closes it.
  await startTaskRun(database.db, { id: randomUUID(), taskId, sessionId: session.id, attempt: 2, prompt: 'second', baseSha: 'abc1234' });
  await appendSessionLogs(database.db, session.id, [line('c')], 100);
  await endTaskRun(database.db, { taskId, attempt: 2 }, { outcome: 'blocked', error: 'merge conflicts in: a.ts' });
  // A stale end (an attempt that is no longer the open one) changes nothing.
  await endTaskRun(database.db, { taskId, attempt: 1 }, { outcome: 'succeeded', error: null });

  const runs = await listTaskRuns(database.db, taskId);
  expect(runs.map((r) => [r.attempt, r.prompt, r.outcome, Number(r.logFromSeq), r.logToSeq === null ? null : Number(r.logToSeq)])).toEqual([
    [1, 'first\uFFFDprompt', 'interrupted', 2, 3],
    [2, 'second', 'blocked', 4, 4],
  ]);
  expect(runs[1]!.error).toBe('merge conflicts in: a.ts');

  await startTaskRun(database.db, { id: randomUUID(), taskId, sessionId: session.id, attempt: 3, prompt: 'third', baseSha: null });
  await interruptSessionRuns(database.db, session.id, 'orphaned: its Arbor process went away');
  expect((await listTaskRuns(database.db, taskId)).at(-1)).toMatchObject({ outcome: 'interrupted', error: 'orphaned: its Arbor process went away', endedAt: expect.any(Date) });
});
