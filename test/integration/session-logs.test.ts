import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { appendSessionLogs, createSession, readSessionLogs, type LogLine } from '../../server/store/sessions.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal } from '../support/orchestration.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.destroy());

async function newSession() {
  const { goal, tasks } = await createGoal(database.db, [{ key: 'a', title: 'A' }]);
  return createSession(database.db, {
    id: randomUUID(),
    goalId: goal.id,
    kind: 'spawned',
    agent: 'command',
    worktreePath: '/tmp/w',
    branch: 'b',
    baseSha: null,
    taskId: tasks[0]!.id,
    attempt: 1,
    owner: 'test',
    host: 'test',
    tokenHash: randomUUID(),
  });
}

const lines = (n: number, from = 0): LogLine[] =>
  Array.from({ length: n }, (_, i) => ({ stream: 'stdout', text: `line ${from + i} ✓ "quoted" \\ back`, at: new Date() }));

it('stores a batch far larger than one statement could bind, in order and intact', async () => {
  const session = await newSession();
  // 20,000 lines: as single-row parameters this would be 100,000 binds, over Postgres' 65,535.
  await appendSessionLogs(database.db, session.id, lines(20_000), 100_000);
  const stored = await readSessionLogs(database.db, session.id, { after: 0, limit: 5000 });
  expect(stored[0]).toMatchObject({ seq: 1, stream: 'stdout', text: 'line 0 ✓ "quoted" \\ back' });
  expect(stored.map((l) => l.seq)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
  const tail = await readSessionLogs(database.db, session.id, { after: 19_990, limit: 100 });
  expect(tail.map((l) => l.text)).toEqual(lines(10, 19_990).map((l) => l.text));
});

it('keeps the newest lines within the bound, with a marker counting the dropped ones', async () => {
  const session = await newSession();
  await appendSessionLogs(database.db, session.id, lines(150), 100);
  await appendSessionLogs(database.db, session.id, lines(30, 150), 100);
  const stored = await readSessionLogs(database.db, session.id, { after: -1, limit: 1000 });
  expect(stored[0]).toMatchObject({ seq: 0, stream: 'event', text: '[80 earlier lines dropped]' });
  expect(stored.slice(1).map((l) => l.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 81));
});
