import { chmod, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo, showFile, type TestRepo } from '../support/git-repo.js';
import { waitFor, waitForGoal } from '../support/orchestration.js';
import { killAllServers, startServer, type ServerProcess } from '../support/server-process.js';
import { processGone } from '../support/processes.js';

/**
 * The real server runs a real agent process (fake-claude behind a switch that
 * makes the first attempt hang with a grandchild). The server is SIGKILLed:
 * the agent lives on, unobserved. Started again under the same instance id,
 * the server ends the orphan and its grandchild, records the session as
 * orphaned, and the task comes back through a retry until the goal finishes.
 */

const AGENT = fileURLToPath(new URL('../fixtures/agent-slow-until-marker.mjs', import.meta.url));

let database: TestDatabase;
let tmp: string;
let repo: TestRepo;
let marker: string;
/** Processes this test learned about, killed in afterAll if still there. */
const strays = new Set<number>();

beforeAll(async () => {
  database = await createTestDatabase();
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-orphans-')));
  repo = await createGitRepo({ parent: tmp });
  marker = path.join(tmp, 'second-attempt-is-quick');
  // The agent is started as a program, like the real claude binary.
  await chmod(AGENT, 0o755);
});

afterAll(async () => {
  await killAllServers();
  for (const pid of strays) {
    if (!processGone(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  await database?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

it('ends agents orphaned by a crash on restart and retries their tasks', { timeout: 240_000 }, async () => {
  const db = database.db;
  const env = {
    ARBOR_INSTANCE_ID: 'orphan-test',
    ARBOR_AGENT: 'claude',
    ARBOR_CLAUDE_BIN: AGENT,
    ARBOR_WORKTREE_ROOT: path.join(tmp, 'worktrees'),
    ARBOR_LEASE_MS: '2000',
    ARBOR_POLL_INTERVAL_MS: '100',
    ARBOR_RETRY_BASE_MS: '50',
    ARBOR_KILL_GRACE_MS: '500',
    ARBOR_RESULT_GRACE_MS: '300',
    AGENT_MARKER_FILE: marker,
    FAKE_AGENT_LOG: path.join(tmp, 'agents.jsonl'),
  };
  const start = (): Promise<ServerProcess> => startServer({ dataDir: path.join(tmp, 'data'), databaseUrl: database.url, env });

  const first = await start();
  const created = await fetch(`${first.url}/api/goals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      title: 'Orphans',
      repo: repo.path,
      base_ref: 'main',
      tasks: [{ key: 'work', title: 'Work', instructions: 'FAKE: write work.txt done\nFAKE: commit work done' }],
    }),
  });
  expect(created.status).toBe(201);
  const { goal, tasks } = (await created.json()) as { goal: { id: string }; tasks: { id: string }[] };
  const taskId = tasks[0]!.id;

  // The first attempt runs, has started its grandchild, and hangs.
  const orphan = await waitFor(
    'the agent to run',
    async () =>
      db.selectFrom('sessions').selectAll().where('taskId', '=', taskId).where('pid', 'is not', null).where('status', '=', 'running').executeTakeFirst(),
    60_000,
  );
  const agentPid = orphan.pid!;
  strays.add(agentPid);
  const grandchildPid = await waitFor(
    'the grandchild pid in the session log',
    async () => {
      const rows = await db.selectFrom('sessionLogs').select('text').where('sessionId', '=', orphan.id).execute();
      const match = rows.map((r) => /FAKE grandchild (\d+)/.exec(r.text)).find(Boolean);
      return match ? Number(match[1]) : undefined;
    },
    60_000,
  );
  strays.add(grandchildPid);

  // A crash: the server goes, its agent does not.
  await first.stop('SIGKILL');
  expect(processGone(agentPid), 'the agent outlives the server').toBe(false);
  expect(processGone(grandchildPid), 'and so does its grandchild').toBe(false);

  // From now on the agent finishes quickly.
  await writeFile(marker, 'quick\n');
  const second = await start();

  await waitFor('the orphaned agent to be ended', () => processGone(agentPid), 60_000);
  await waitFor('its grandchild to be ended', () => processGone(grandchildPid), 60_000);
  const ended = await db.selectFrom('sessions').selectAll().where('id', '=', orphan.id).executeTakeFirstOrThrow();
  expect(ended.status).toBe('ended');
  expect(ended.endReason).toMatch(/orphaned/);
  expect(second.logLines().some((line) => line.msg === 'ended an orphaned agent process' && line.pid === agentPid)).toBe(true);

  await waitForGoal(db, goal.id, 'succeeded', 120_000);
  const task = await db.selectFrom('tasks').selectAll().where('id', '=', taskId).executeTakeFirstOrThrow();
  expect(task.status).toBe('succeeded');
  expect(task.attempt).toBe(2);
  const sessions = await db.selectFrom('sessions').selectAll().where('taskId', '=', taskId).orderBy('createdAt').execute();
  expect(sessions.length).toBeGreaterThanOrEqual(1);
  const branch = (await db.selectFrom('goals').select('branch').where('id', '=', goal.id).executeTakeFirstOrThrow()).branch!;
  expect(showFile(repo.path, branch, 'work.txt')).toBe('done');

  const exit = await second.stop('SIGTERM');
  expect(exit.code).toBe(0);
});
