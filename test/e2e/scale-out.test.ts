import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TERMINAL_GOAL_STATUSES, TERMINAL_TASK_STATUSES } from '../../server/domain/states.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo, git } from '../support/git-repo.js';
import { waitFor, waitWhileProgressing } from '../support/orchestration.js';
import { createDataDir, killAllServers, REPO_ROOT, removeDataDir, startServer, type ServerProcess } from '../support/server-process.js';

/**
 * Scale-out: three Arbor processes with data dirs of their own (as three
 * machines would have) share one database and one bare remote repository.
 * Hundreds of spawned and pinned tasks run over several goals while one
 * instance is SIGKILLed and started again under its id. Every task runs once
 * per attempt, every goal succeeds, and the remote's goal branches hold every
 * task's commit, with nothing half-merged and nothing left running.
 */

const AGENT = path.join(REPO_ROOT, 'test/fixtures/commit-agent.sh');
// Many goals, each short: merges into one goal branch are one at a time, merges into different ones are not.
const GOALS = 10;
/** Per goal: a pinned task, a parallel group, a pinned task, a parallel group, a pinned task. */
const SPAWNED_PER_GROUP = 24;
const TASKS_PER_GOAL = 3 + 2 * SPAWNED_PER_GROUP;

let database: TestDatabase;
let work: string;
let remote: string;
let agentLog: string;
const dataDirs: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  work = await mkdtemp(path.join(os.tmpdir(), 'arbor-scale-'));
  const seed = await createGitRepo({ parent: work });
  remote = path.join(work, 'remote.git');
  git(work, 'clone', '-q', '--bare', seed.path, remote);
  // The remote stands in for a git host, whose housekeeping runs on its own machines: a `gc --auto`
  // after every push would compete here with the three instances for the same two cores.
  git(remote, 'config', 'receive.autogc', 'false');
  agentLog = path.join(work, 'agents.log');
  for (let i = 0; i < 3; i++) dataDirs.push(await createDataDir('arbor-scale-dir-'));
});
afterAll(async () => {
  await killAllServers();
  await Promise.all(dataDirs.map(removeDataDir));
  await database?.destroy();
  await rm(work, { recursive: true, force: true });
}, 120_000);

const start = (i: number): Promise<ServerProcess> =>
  startServer({
    dataDir: dataDirs[i]!,
    databaseUrl: database.url,
    env: {
      ARBOR_INSTANCE_ID: `scale-${i}`,
      ARBOR_AGENT: 'command',
      ARBOR_AGENT_COMMAND: AGENT,
      COMMIT_AGENT_LOG: agentLog,
      ARBOR_MAX_SESSIONS: '6',
      ARBOR_SPAWN_PER_SECOND: '0',
      // Long enough that a starved event loop does not lose its leases: recovery from the kill is by instance id, not expiry.
      ARBOR_LEASE_MS: '10000',
      ARBOR_POLL_INTERVAL_MS: '200',
      ARBOR_RETRY_BASE_MS: '50',
    },
    timeoutMs: 90_000,
  });

function goalRequest(n: number) {
  // Attempts to spare: on a loaded machine a lease can lapse on top of the kill; runs are still checked against attempts.
  const pinned = (key: string) => ({ key, title: key, session_policy: 'pinned', max_attempts: 4 });
  const group = (key: string) => ({
    key,
    title: key,
    children_mode: 'parallel',
    children: Array.from({ length: SPAWNED_PER_GROUP }, (_, i) => ({ key: `${key}-${i}`, title: `${key} ${i}`, session_policy: 'spawn', max_attempts: 4 })),
  });
  return {
    title: `Scale ${n}`,
    repo: `file://${remote}`,
    base_ref: 'main',
    max_parallel: 4,
    tasks: [pinned('first'), group('wide'), pinned('middle'), group('wider'), pinned('last')],
  };
}

/** Processes whose command line runs the fixture agent. */
function agentsAlive(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(AGENT);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Changes whenever a task starts, finishes or is retried anywhere: the run is moving. */
async function progressMark(): Promise<string> {
  const rows = await database.db
    .selectFrom('tasks')
    .select((eb) => [eb.fn.countAll<string>().as('tasks'), eb.fn.sum<string>('attempt').as('attempts')])
    .select((eb) => eb.fn.count<string>('id').filterWhere('status', 'in', [...TERMINAL_TASK_STATUSES, 'blocked']).as('ended'))
    .executeTakeFirstOrThrow();
  return `${rows.ended}/${rows.tasks} ended, ${rows.attempts} attempts`;
}

/** Fails the wait at once when a task ended blocked or failed, with every attempt's error. */
async function failOnStuckTask(): Promise<void> {
  const stuck = await database.db
    .selectFrom('tasks')
    .select(['id', 'key', 'status', 'attempt', 'error', 'attemptsLog'])
    .where('kind', '=', 'agent')
    .where('status', 'in', ['blocked', 'failed'])
    .executeTakeFirst();
  if (stuck) {
    throw new Error(`task ${stuck.key} (${stuck.id}) ended ${stuck.status} at attempt ${stuck.attempt}: ${stuck.error}; attempts: ${JSON.stringify(stuck.attemptsLog)}`);
  }
}

/** Where a stalled run stands: tasks by status, and the first few that have not ended. */
async function runState(): Promise<string> {
  const byStatus = await database.db.selectFrom('tasks').select(['status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('status').execute();
  const open = await database.db
    .selectFrom('tasks')
    .select(['id', 'key', 'kind', 'status', 'attempt', 'leaseOwner', 'leaseExpiresAt', 'notBefore', 'error'])
    .where('status', 'not in', ['succeeded', 'skipped', 'pending'])
    .limit(5)
    .execute();
  const sessions = await database.db.selectFrom('sessions').select(['status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('status').execute();
  return JSON.stringify({ tasks: byStatus, sessions, open });
}

// A loaded 2-core machine has taken 15 minutes for this run (each task is some forty short git
// processes): the waits last as long as the run moves on, and fail after five minutes without progress.
it('three instances, one database, one remote: 500+ tasks, one instance killed mid-run', { timeout: 1_800_000 }, async () => {
  const servers = await Promise.all([0, 1, 2].map(start));
  const goalIds: string[] = [];
  for (let n = 0; n < GOALS; n++) {
    const res = await fetch(`${servers[n % 3]!.url}/api/goals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(goalRequest(n)),
    });
    expect(res.status).toBe(201);
    goalIds.push(((await res.json()) as { goal: { id: string } }).goal.id);
  }
  const agentTasks = () => database.db.selectFrom('tasks').select(['id', 'goalId', 'status', 'attempt', 'error']).where('kind', '=', 'agent').execute();
  const stall = { progress: progressMark, describe: runState, stallMs: 300_000 };

  await waitWhileProgressing('a third of the tasks done', {
    ...stall,
    done: async () => {
      await failOnStuckTask();
      return (await agentTasks()).filter((t) => t.status === 'succeeded').length >= (GOALS * TASKS_PER_GOAL) / 3;
    },
  });
  await servers[2]!.stop('SIGKILL');
  // Started again under its id, as a supervisor would: it takes its own work back.
  servers[2] = await start(2);

  await waitWhileProgressing('every goal to end', {
    ...stall,
    done: async () => {
      await failOnStuckTask();
      const goals = await database.db.selectFrom('goals').select(['id', 'status']).execute();
      return goals.every((g) => TERMINAL_GOAL_STATUSES.includes(g.status));
    },
  });
  const goals = await database.db.selectFrom('goals').select(['id', 'status', 'branch']).execute();
  expect(goals.map((g) => g.status)).toEqual(Array(GOALS).fill('succeeded'));

  // Once per attempt: no task's agent ran more often than its attempts.
  const tasks = await agentTasks();
  expect(tasks).toHaveLength(GOALS * TASKS_PER_GOAL);
  const runs = new Map<string, number>();
  for (const line of readFileSync(agentLog, 'utf8').split('\n').filter(Boolean)) {
    const taskId = line.split(' ')[0]!;
    runs.set(taskId, (runs.get(taskId) ?? 0) + 1);
  }
  for (const t of tasks) {
    expect(runs.get(t.id) ?? 0, `runs of task ${t.id}`).toBeGreaterThanOrEqual(1);
    expect(runs.get(t.id) ?? 0, `runs of task ${t.id}`).toBeLessThanOrEqual(t.attempt);
  }

  // Not asserted (the machine decides how many leases lapse), but shown: why tasks were tried again.
  const retries = await database.db.selectFrom('tasks').select('attemptsLog').where('kind', '=', 'agent').where('attempt', '>', 1).execute();
  const reasons = new Map<string, number>();
  for (const entry of retries.flatMap((t) => t.attemptsLog as { error?: string }[])) {
    const reason = (entry.error ?? '?').replace(/[0-9a-f]{8,}/g, '…').slice(0, 100);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  console.log(`scale-out: ${retries.length} of ${tasks.length} tasks ran more than once; earlier attempts ended: ${JSON.stringify(Object.fromEntries(reasons))}`);

  // The remote's goal branches hold every task's commit, and every task branch there is merged.
  for (const goal of goals) {
    const subjects = new Set(git(remote, 'log', '--format=%s', goal.branch!).split('\n'));
    for (const t of tasks.filter((t) => t.goalId === goal.id)) expect(subjects.has(`task ${t.id}`), `task ${t.id} on ${goal.branch}`).toBe(true);
    const taskBranches = git(remote, 'for-each-ref', '--format=%(refname)', `refs/heads/${goal.branch}--*`).split('\n').filter(Boolean);
    expect(taskBranches.length).toBeGreaterThan(0);
    for (const ref of taskBranches) expect(git(remote, 'merge-base', '--is-ancestor', ref, goal.branch!), ref).toBe('');
  }

  // Nothing left behind: no agent process, and each instance removes its worktrees once the goals are done.
  expect(agentsAlive()).toEqual([]);
  const worktreesLeft = () =>
    dataDirs.flatMap((dir) => {
      const root = path.join(dir, 'worktrees');
      if (!existsSync(root)) return [];
      return readdirSync(root).flatMap((goal) => {
        const inside = readdirSync(path.join(root, goal));
        return inside.length > 0 ? inside.map((w) => path.join(root, goal, w)) : [path.join(root, goal)];
      });
    });
  await waitFor('every worktree removed', () => worktreesLeft().length === 0, 30_000).catch((err: Error) => {
    throw new Error(`${err.message}; left: ${worktreesLeft().join(', ')}`);
  });
  const mirrors = dataDirs.flatMap((dir) => {
    const root = path.join(dir, 'mirrors');
    return existsSync(root) ? readdirSync(root).map((m) => path.join(root, m)) : [];
  });
  for (const mirror of mirrors) {
    expect(execFileSync('git', ['worktree', 'list', '--porcelain'], { cwd: mirror, encoding: 'utf8' }).match(/^worktree /gm)).toHaveLength(1);
  }
});
