import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDatabase, type DbHandle } from '../../server/db/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../server/db/embedded-postgres.js';
import { createLogger } from '../../server/logger.js';
import { createGitRepo, type TestRepo } from '../support/git-repo.js';
import { parallelGoal, postGoal } from '../support/goal-requests.js';
import { waitFor, waitForGoal } from '../support/orchestration.js';
import { killAllServers, startServer } from '../support/server-process.js';

/**
 * The database goes away while eleven agents run, and every one of them
 * finishes during the outage. When the database is back, each outcome must be
 * recorded as it happened — eleven successes at their first attempt, with
 * `max_attempts: 1` so that a single outcome turned into a failure fails the
 * goal — and every session ended with its worktree removed.
 *
 * The Postgres here is the test's own cluster, never the shared one.
 */

const AGENT = fileURLToPath(new URL('../fixtures/agent-exclusive.mjs', import.meta.url));
const TASKS = 11;

let tmp: string;
let repo: TestRepo;
let postgres: EmbeddedPostgres | null = null;
let client: DbHandle | null = null;

beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-outage-')));
  // As root, Postgres runs as the postgres user, which must reach its cluster below here.
  await chmod(tmp, 0o711);
  repo = await createGitRepo({ parent: tmp });
});

afterAll(async () => {
  await killAllServers();
  await client?.close().catch(() => {});
  await postgres?.stop().catch(() => {});
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

it('records every outcome of agents that finished while the database was down', { timeout: 240_000 }, async () => {
  const pgDir = path.join(tmp, 'pg-owned-by-the-test');
  const port = await freePort();
  const startPostgres = () => startEmbeddedPostgres({ dataDir: pgDir, port, durable: false });
  postgres = await startPostgres();
  client = connectDatabase(postgres.url, { poolSize: 2, logger: createLogger('silent') });
  const db = client.db;

  const agentDir = path.join(tmp, 'agents');
  await mkdir(agentDir);
  const worktreeRoot = path.join(tmp, 'worktrees');
  const server = await startServer({
    dataDir: path.join(tmp, 'data'),
    databaseUrl: postgres.url,
    env: {
      ARBOR_AGENT: 'command',
      ARBOR_AGENT_COMMAND: JSON.stringify([process.execPath, AGENT]),
      ARBOR_WORKTREE_ROOT: worktreeRoot,
      ARBOR_MAX_SESSIONS: String(TASKS),
      ARBOR_SPAWN_PER_SECOND: '0',
      ARBOR_POLL_INTERVAL_MS: '200',
      AGENT_DIR: agentDir,
    },
  });
  const { goal } = await postGoal(server.url, parallelGoal(repo.path, TASKS, 'Outage', { max_attempts: 1 }));
  const sessions = await waitFor(
    'every agent to run',
    async () => {
      const rows = await db.selectFrom('sessions').select(['id', 'pid']).where('goalId', '=', goal.id).where('status', '=', 'running').where('pid', 'is not', null).execute();
      return rows.length === TASKS ? rows : undefined;
    },
    120_000,
  );

  // The outage: Postgres stops, then the agents are let go and all finish.
  await postgres.stop();
  await writeFile(path.join(agentDir, 'go'), '');
  await waitFor('every agent to finish', () => readdirSync(agentDir).filter((f) => f.startsWith('done-')).length === TASKS || undefined, 60_000);
  // ...and the server has met the outage recording each one's last output.
  await waitFor(
    'the server to meet the outage in every session',
    () => {
      // A warning about a session's log write is how the server says it hit the outage there.
      const failed = new Set(server.logLines().filter((l) => Number(l.level) >= 40 && typeof l.session === 'string').map((l) => l.session));
      return sessions.every((s) => failed.has(s.id)) || undefined;
    },
    60_000,
  );
  postgres = await startPostgres();

  await waitForGoal(db, goal.id, 'succeeded', 120_000);
  const tasks = await db.selectFrom('tasks').selectAll().where('goalId', '=', goal.id).where('kind', '=', 'agent').execute();
  for (const task of tasks) {
    expect(task.status, task.key).toBe('succeeded');
    expect(task.attempt, task.key).toBe(1);
    expect(task.error).toBeNull();
  }
  await waitFor(
    'every session to be ended',
    async () => (await db.selectFrom('sessions').select('status').where('goalId', '=', goal.id).where('status', '<>', 'ended').execute()).length === 0 || undefined,
    60_000,
  );
  const ended = await db.selectFrom('sessions').selectAll().where('goalId', '=', goal.id).execute();
  expect(ended).toHaveLength(TASKS);
  for (const s of ended) expect(s.endReason).toBe('exited 0');
  const runnerErrors = await db.selectFrom('events').select('data').where('goalId', '=', goal.id).execute();
  expect(runnerErrors.filter((e) => JSON.stringify(e.data).includes('runner error'))).toEqual([]);
  const left = existsSync(worktreeRoot) ? readdirSync(worktreeRoot).flatMap((d) => readdirSync(path.join(worktreeRoot, d))) : [];
  expect(left.filter((w) => w !== 'goal')).toEqual([]);

  expect((await server.stop('SIGTERM')).code).toBe(0);
});
