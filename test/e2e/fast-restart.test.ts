import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo, type TestRepo } from '../support/git-repo.js';
import { parallelGoal, postGoal } from '../support/goal-requests.js';
import { waitFor, waitForGoal } from '../support/orchestration.js';
import { processGone } from '../support/processes.js';
import { killAllServers, startServer } from '../support/server-process.js';

/**
 * Twenty agents are running when the server is SIGKILLed, and a new server
 * (a new instance id, as after any restart) starts at once — well inside the
 * 30 s lease. The new server must end the twenty orphans before their tasks
 * run again, take the tasks back without waiting out the lease, and leave no
 * session live and no token valid from the first run. The agent fixture
 * records any moment two runs of one task are alive together.
 */

const AGENT = fileURLToPath(new URL('../fixtures/agent-exclusive.mjs', import.meta.url));
const TASKS = 20;

let database: TestDatabase;
let tmp: string;
let repo: TestRepo;
const strays = new Set<number>();

beforeAll(async () => {
  database = await createTestDatabase();
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-fast-restart-')));
  repo = await createGitRepo({ parent: tmp });
});

afterAll(async () => {
  await killAllServers();
  for (const pid of strays) {
    if (!processGone(pid)) process.kill(pid, 'SIGKILL');
  }
  await database?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

it('ends the orphans of a killed server before their tasks run again, at once', { timeout: 240_000 }, async () => {
  const db = database.db;
  const agentDir = path.join(tmp, 'agents');
  await writeFile(path.join(tmp, '.keep'), '');
  await import('node:fs/promises').then((fs) => fs.mkdir(agentDir));
  const worktreeRoot = path.join(tmp, 'worktrees');
  const env = {
    ARBOR_AGENT: 'command',
    ARBOR_AGENT_COMMAND: JSON.stringify([process.execPath, AGENT]),
    ARBOR_WORKTREE_ROOT: worktreeRoot,
    ARBOR_MAX_SESSIONS: String(TASKS),
    ARBOR_SPAWN_PER_SECOND: '0',
    ARBOR_POLL_INTERVAL_MS: '200',
    ARBOR_RETRY_BASE_MS: '50',
    ARBOR_KILL_GRACE_MS: '1000',
    AGENT_DIR: agentDir,
  };
  const start = () => startServer({ dataDir: path.join(tmp, 'data'), databaseUrl: database.url, env });

  const first = await start();
  const { goal } = await postGoal(first.url, parallelGoal(repo.path, TASKS, 'Fast restart', { max_attempts: 3 }));

  const firstRun = await waitFor(
    'all twenty agents to run',
    async () => {
      const rows = await db.selectFrom('sessions').selectAll().where('goalId', '=', goal.id).where('status', '=', 'running').where('pid', 'is not', null).execute();
      return rows.length === TASKS ? rows : undefined;
    },
    120_000,
  );
  for (const s of firstRun) strays.add(s.pid!);

  await first.stop('SIGKILL');
  for (const s of firstRun) expect(processGone(s.pid!), 'the agents outlive the server').toBe(false);
  const second = await start();

  await waitForGoal(db, goal.id, 'succeeded', 120_000);

  // Every first-run agent is gone, and never overlapped a second run of its task.
  for (const s of firstRun) expect(processGone(s.pid!), `agent ${s.pid}`).toBe(true);
  expect(existsSync(path.join(agentDir, 'overlaps.log')) ? readFileSync(path.join(agentDir, 'overlaps.log'), 'utf8') : '').toBe('');
  // Two runs per task: the orphaned one and the one that finished it.
  const starts = readFileSync(path.join(agentDir, 'starts.log'), 'utf8').trim().split('\n');
  expect(starts).toHaveLength(2 * TASKS);

  const tasks = await db.selectFrom('tasks').selectAll().where('goalId', '=', goal.id).where('kind', '=', 'agent').execute();
  for (const task of tasks) {
    expect(task.status).toBe('succeeded');
    expect(task.attempt, task.key).toBe(2);
  }
  const sessions = await db.selectFrom('sessions').selectAll().where('goalId', '=', goal.id).execute();
  for (const s of sessions.filter((x) => firstRun.some((f) => f.id === x.id))) {
    expect(s.status).toBe('ended');
    expect(s.endReason).toMatch(/orphaned/);
    expect(s.tokenHash).toBeNull();
  }
  expect(sessions.filter((s) => s.status !== 'ended' && s.kind === 'spawned')).toEqual([]);
  // The tasks came back because the first server was known dead, not because leases ran out.
  expect(second.logLines().some((line) => line.msg === 'took back the work of Arbor processes that went away')).toBe(true);
  const expiries = await db.selectFrom('events').select('data').where('goalId', '=', goal.id).where('type', '=', 'task.status_changed').execute();
  expect(expiries.filter((e) => String((e.data as { error?: string }).error ?? '').startsWith('lease expired'))).toEqual([]);
  // No worktree is left behind: the orphans' were removed, the finished runs' too.
  const left = existsSync(worktreeRoot) ? readdirSync(worktreeRoot).flatMap((d) => readdirSync(path.join(worktreeRoot, d)).map((w) => `${d}/${w}`)) : [];
  expect(left.filter((w) => !w.endsWith('/goal'))).toEqual([]);

  expect((await second.stop('SIGTERM')).code).toBe(0);
});
