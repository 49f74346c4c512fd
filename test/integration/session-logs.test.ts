import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { connectDatabase, type Db, type DbHandle } from '../../server/db/database.js';
import { createLogger } from '../../server/logger.js';
import { startAgentProcess } from '../../server/sessions/agent-process.js';
import { SessionLog } from '../../server/sessions/session-log.js';
import { appendSessionLogs, createSession, readSessionLogs, type LogLine } from '../../server/store/sessions.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal, waitFor } from '../support/orchestration.js';
import { TcpProxy } from '../support/tcp-proxy.js';

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
  // Written, then removed by the bound: dropped, but not unwritten.
  expect(await droppedCounts(session.id)).toEqual({ dropped: 80, unwritten: 0 });
});

async function droppedCounts(sessionId: string): Promise<{ dropped: number; unwritten: number }> {
  const row = await database.db.selectFrom('sessions').select(['logDropped', 'logUnwritten']).where('id', '=', sessionId).executeTakeFirstOrThrow();
  return { dropped: Number(row.logDropped), unwritten: Number(row.logUnwritten) };
}

// ---------------------------------------------------------------------------
// SessionLog: bounded memory, backpressure on a real agent process, outages

const silent = createLogger('silent');
const proxies: TcpProxy[] = [];
const handles: DbHandle[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

/** A pool reaching the test database through a proxy the test can cut. */
async function databaseBehindProxy(): Promise<{ db: Db; proxy: TcpProxy }> {
  const target = new URL(database.url);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  proxies.push(proxy);
  await proxy.start();
  const handle = connectDatabase(proxy.url(database.url), { poolSize: 2, logger: silent });
  handles.push(handle);
  return { db: handle.db, proxy };
}

async function storedLines(sessionId: string) {
  return readSessionLogs(database.db, sessionId, { after: -1, limit: 100_000 });
}

const linesFixture = fileURLToPath(new URL('../fixtures/proc-lines.mjs', import.meta.url));

it(
  'an agent printing 2,000,000 lines is held back, not buffered: memory stays bounded and every line is accounted for',
  async () => {
    const session = await newSession();
    const printed = 2_000_000;
    const maxLines = 1000;
    const log = new SessionLog(database.db, session.id, { maxLines, logger: silent });
    const proc = startAgentProcess({
      file: process.execPath,
      args: [linesFixture, '--lines', String(printed)],
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? '' },
      stdin: '',
      timeoutMs: 0,
      stallMs: 0,
      killGraceMs: 1000,
      flow: log,
      onLine: (stream, line) => log.push(stream, line),
    });
    const end = await proc.done;
    await log.flush();

    expect(end).toMatchObject({ reason: 'exited', exitCode: 0 });
    const stats = log.stats();
    // Unwritten output never outgrew its bound, nor was any line dropped unwritten to get there.
    expect(stats.peakBufferedBytes).toBeLessThanOrEqual(stats.limitBytes);
    expect(stats.lostLines).toBe(0);
    const stored = await storedLines(session.id);
    const [marker, ...kept] = stored;
    expect(marker).toMatchObject({ seq: 0, text: `[${printed - kept.length} earlier lines dropped]` });
    expect(kept.length).toBeLessThanOrEqual(maxLines);
    expect(kept.at(-1)).toMatchObject({ seq: printed, text: `line ${printed - 1}` });
    expect(kept.map((l) => l.text)).toEqual(kept.map((l) => `line ${l.seq - 1}`));
  },
  600_000,
);

it('keeps the lines of a write that fails for a lost connection and stores them once the database is back', async () => {
  const session = await newSession();
  const { db, proxy } = await databaseBehindProxy();
  const log = new SessionLog(db, session.id, { maxLines: 1000, intervalMs: 10, logger: silent });
  for (let i = 0; i < 50; i++) log.push('stdout', `before ${i}`);
  await waitFor('the first lines stored', async () => (await storedLines(session.id)).length === 50);

  await proxy.cut();
  for (let i = 0; i < 50; i++) log.push('stdout', `during ${i}`);
  await waitFor('a write failing for the outage', () => log.stats().failedWrites >= 1);
  await proxy.restore();
  await log.flush();

  const stored = await storedLines(session.id);
  expect(stored.map((l) => l.text)).toEqual([
    ...Array.from({ length: 50 }, (_, i) => `before ${i}`),
    ...Array.from({ length: 50 }, (_, i) => `during ${i}`),
  ]);
  expect(stored.map((l) => l.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  expect(log.stats()).toMatchObject({ droppedLines: 0, lostLines: 0 });
});

it('during a long outage drops the oldest unwritten lines beyond its bound and records how many', async () => {
  const session = await newSession();
  const { db, proxy } = await databaseBehindProxy();
  const limitBytes = 64 * 1024;
  const log = new SessionLog(db, session.id, { maxLines: 100_000, intervalMs: 10, highWaterBytes: 16 * 1024, limitBytes, logger: silent });
  await proxy.cut();
  const printed = 5000;
  for (let i = 0; i < printed; i++) log.push('stdout', `line ${i}`);
  const stats = log.stats();
  expect(stats.peakBufferedBytes).toBeLessThanOrEqual(limitBytes);
  expect(stats.droppedLines).toBeGreaterThan(0);
  await proxy.restore();
  await log.flush();

  const [marker, ...kept] = await storedLines(session.id);
  expect(marker).toMatchObject({ seq: 0, text: `[${printed - kept.length} earlier lines dropped]` });
  // Below the bound on kept lines (100,000): every dropped line is one never written.
  expect(await droppedCounts(session.id)).toEqual({ dropped: printed - kept.length, unwritten: printed - kept.length });
  // The newest lines are the ones kept, in order, under the sequence numbers they were printed as.
  expect(kept.at(-1)).toMatchObject({ seq: printed, text: `line ${printed - 1}` });
  expect(kept.map((l) => l.text)).toEqual(kept.map((l) => `line ${l.seq - 1}`));
});

it('holds the producer while the database lags, and lets it go after the hold limit rather than freeze it', async () => {
  const session = await newSession();
  const { db, proxy } = await databaseBehindProxy();
  const log = new SessionLog(db, session.id, { maxLines: 1000, highWaterBytes: 4096, maxHoldMs: 200, logger: silent });
  await proxy.cut();
  let released = 0;
  log.onRelease(() => (released += 1));
  for (let i = 0; i < 100; i++) log.push('stdout', `line ${i}`);
  expect(log.holding).toBe(true);
  await waitFor('the hold released', () => released === 1);
  expect(log.holding).toBe(false);
  // Over the mark but past the hold limit: lines keep coming without a new hold until the database answers.
  log.push('stdout', 'after the hold');
  expect(log.holding).toBe(false);
  await proxy.restore();
  await log.flush();
  expect((await storedLines(session.id)).at(-1)).toMatchObject({ seq: 101, text: 'after the hold' });
});

it('the final flush gives up on an unreachable database after its bound instead of waiting forever', async () => {
  const session = await newSession();
  const { db, proxy } = await databaseBehindProxy();
  const log = new SessionLog(db, session.id, { maxLines: 1000, finalFlushMs: 300, logger: silent });
  await proxy.cut();
  for (let i = 0; i < 10; i++) log.push('stdout', `line ${i}`);
  await log.flush();
  expect(log.stats()).toMatchObject({ lostLines: 10, holds: 0 });
  expect(await storedLines(session.id)).toEqual([]);
});
