import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo, git, showFile, type TestRepo } from '../support/git-repo.js';
import { parallelGoal, postGoal } from '../support/goal-requests.js';
import { waitFor, waitForGoal } from '../support/orchestration.js';
import { killAllServers, startServer, type ServerProcess } from '../support/server-process.js';

/**
 * A graceful stop drains: nothing new starts, and a running agent may finish
 * (its outcome recorded as usual). A second signal cuts the drain short: the
 * agent is stopped, its uncommitted work is committed to its task's branch,
 * and the task's next attempt — after a restart — carries on from there.
 */

const AGENT = fileURLToPath(new URL('../fixtures/agent-exclusive.mjs', import.meta.url));

let database: TestDatabase;
let tmp: string;
let repo: TestRepo;
let agentDir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-drain-')));
  repo = await createGitRepo({ parent: tmp });
  agentDir = path.join(tmp, 'agents');
  await mkdir(agentDir);
});

afterAll(async () => {
  await killAllServers();
  await database?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

const start = () =>
  startServer({
    dataDir: path.join(tmp, 'data'),
    databaseUrl: database.url,
    env: {
      ARBOR_AGENT: 'command',
      ARBOR_AGENT_COMMAND: JSON.stringify([process.execPath, AGENT]),
      ARBOR_WORKTREE_ROOT: path.join(tmp, 'worktrees'),
      ARBOR_SHUTDOWN_DRAIN_S: '120',
      ARBOR_POLL_INTERVAL_MS: '200',
      AGENT_DIR: agentDir,
    },
  });

/** Waits until the task's agent has started its work (the fixture logs its start after writing its progress file). */
async function agentAtWork(taskId: string): Promise<void> {
  const starts = path.join(agentDir, 'starts.log');
  await waitFor('the agent to be at work', () => existsSync(starts) && readFileSync(starts, 'utf8').includes(taskId), 60_000);
}

async function sigtermAndDrain(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  await waitFor('the drain to begin', () => server.logLines().some((l) => String(l.msg).startsWith('draining')), 30_000);
}

it('lets a running agent finish on SIGTERM and records its outcome', { timeout: 180_000 }, async () => {
  const server = await start();
  const { tasks } = await postGoal(server.url, parallelGoal(repo.path, 1, 'Drain lets it finish', { max_attempts: 1 }));
  await agentAtWork(tasks[0]!.id);

  await sigtermAndDrain(server);
  await writeFile(path.join(agentDir, 'go'), '');
  expect((await server.exited).code).toBe(0);

  const task = await database.db.selectFrom('tasks').selectAll().where('id', '=', tasks[0]!.id).executeTakeFirstOrThrow();
  expect(task.status).toBe('succeeded');
  expect(task.attempt).toBe(1);
  await rm(path.join(agentDir, 'go'));
});

it('a second signal stops the agent; the next attempt carries on from its committed work', { timeout: 180_000 }, async () => {
  const first = await start();
  const { goal, tasks } = await postGoal(first.url, parallelGoal(repo.path, 1, 'Drain cut short'));
  const task = tasks[0]!;
  await agentAtWork(task.id);

  await sigtermAndDrain(first);
  first.child.kill('SIGTERM');
  expect((await first.exited).code).toBe(0);

  // Handed back without counting the attempt; the agent's work in progress is on the task branch.
  const released = await database.db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
  expect(released.status).toBe('pending');
  expect(released.attempt - released.attemptFloor).toBe(0);
  const goalBranch = (await database.db.selectFrom('goals').select('branch').where('id', '=', goal.id).executeTakeFirstOrThrow()).branch!;
  const taskBranch = `${goalBranch}--t0`;
  expect(showFile(repo.path, taskBranch, 't0-progress.txt')).toMatch(/^started by \d+/);

  const second = await start();
  await waitForGoal(database.db, goal.id, 'succeeded', 120_000);
  const starts = readFileSync(path.join(agentDir, 'starts.log'), 'utf8').trim().split('\n').filter((l) => l.startsWith(task.id));
  expect(starts.map((l) => l.split(' ')[2])).toEqual(['fresh', 'resumed']);
  expect(showFile(repo.path, goalBranch, 't0.txt')).toMatch(/^done by/);
  // Merged, so the task branch is gone; the interrupted run's commit is in the goal branch.
  expect(git(repo.path, 'branch', '--list', taskBranch)).toBe('');
  expect(git(repo.path, 'log', '--format=%s', goalBranch)).toContain('arbor: uncommitted work of task t0');
  expect(existsSync(path.join(agentDir, `lock-${task.id}`))).toBe(false);
  expect((await second.stop('SIGTERM')).code).toBe(0);
});
