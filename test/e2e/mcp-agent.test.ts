import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo } from '../support/git-repo.js';
import { waitFor } from '../support/orchestration.js';
import { REPO_ROOT, killAllServers, startServer, type ServerProcess } from '../support/server-process.js';

/**
 * The real server as a child process, its agents real processes that speak
 * to it only through `/mcp` with the SDK's client (test/fixtures/mcp-agent.mjs
 * behind the `command` agent): an agent splits its task into subtasks and
 * reports a pull request, another reports itself blocked.
 */

const API_TOKEN = 'mcp-e2e-api-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };

interface TaskJson {
  key: string;
  kind: string;
  status: string;
  error: string | null;
  parent_id: string | null;
  id: string;
  result: { summary?: string; pull_request?: unknown } | null;
  finished_at: string | null;
  started_at: string | null;
}

let database: TestDatabase;
let tmp: string;
let server: ServerProcess;
let repo: string;

beforeAll(async () => {
  database = await createTestDatabase();
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-mcp-')));
  repo = (await createGitRepo({ parent: tmp })).path;
  server = await startServer({
    dataDir: path.join(tmp, 'data'),
    databaseUrl: database.url,
    env: {
      ARBOR_API_TOKEN: API_TOKEN,
      ARBOR_AGENT: 'command',
      ARBOR_AGENT_COMMAND: `${process.execPath} ${path.join(REPO_ROOT, 'test/fixtures/mcp-agent.mjs')}`,
      ARBOR_WORKTREE_ROOT: path.join(tmp, 'worktrees'),
      ARBOR_POLL_INTERVAL_MS: '100',
      ARBOR_SPAWN_PER_SECOND: '0',
    },
  });
}, 120_000);

afterAll(async () => {
  if (server) await server.stop('SIGTERM').catch(() => undefined);
  await killAllServers();
  await database?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

async function postGoal(tasks: unknown[]): Promise<string> {
  const res = await fetch(`${server.url}/api/goals`, { method: 'POST', headers: AUTH, body: JSON.stringify({ title: 'MCP', repo, base_ref: 'main', tasks }) });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { goal: { id: string } }).goal.id;
}

async function goalWhen(id: string, done: (status: string) => boolean) {
  return waitFor(
    `goal ${id} to finish`,
    async () => {
      const res = await fetch(`${server.url}/api/goals/${id}`, { headers: AUTH });
      const body = (await res.json()) as { goal: { status: string }; tasks: TaskJson[] };
      return done(body.goal.status) ? body : undefined;
    },
    90_000,
  );
}

it('an agent splits its task through MCP: the subtasks run, then the task and what depends on it; its pull request is in its result', { timeout: 150_000 }, async () => {
  const id = await postGoal([
    { key: 'plan', title: 'Plan', instructions: 'MCP: split part-a part-b part-c' },
    { key: 'ship', title: 'Ship', instructions: 'MCP: done' },
  ]);
  const { goal, tasks } = await goalWhen(id, (s) => ['succeeded', 'failed', 'cancelled'].includes(s));
  const byKey = Object.fromEntries(tasks.map((t) => [t.key, t]));
  expect(goal.status, JSON.stringify(tasks.map((t) => [t.key, t.status, t.error]))).toBe('succeeded');
  const plan = byKey.plan!;
  expect(plan).toMatchObject({ kind: 'group', status: 'succeeded' });
  expect(plan.result?.summary).toBe('split plan');
  expect(plan.result?.pull_request).toEqual({ url: 'https://github.com/acme/web/pull/42', head_sha: 'abc1234', repo: 'acme/web', number: 42 });
  const parts = ['part-a', 'part-b', 'part-c'].map((k) => byKey[k]!);
  for (const part of parts) expect(part).toMatchObject({ parent_id: plan.id, status: 'succeeded', result: { summary: 'done by mcp-agent' } });
  // In sequence, and `ship` (after `plan`) only once they are all done.
  expect(parts[1]!.started_at! >= parts[0]!.finished_at!).toBe(true);
  expect(parts[2]!.started_at! >= parts[1]!.finished_at!).toBe(true);
  expect(byKey.ship!.started_at! >= parts[2]!.finished_at!).toBe(true);
});

it('an agent that reports blocked through MCP leaves its task blocked with its reason', { timeout: 150_000 }, async () => {
  const id = await postGoal([{ key: 'stuck', title: 'Stuck', instructions: 'MCP: block needs the staging database password' }]);
  const task = await waitFor(
    'the task to end its run',
    async () => {
      const res = await fetch(`${server.url}/api/goals/${id}`, { headers: AUTH });
      const [only] = ((await res.json()) as { tasks: TaskJson[] }).tasks;
      return ['blocked', 'succeeded', 'failed'].includes(only!.status) ? only : undefined;
    },
    90_000,
  );
  expect(task).toMatchObject({ status: 'blocked', error: 'needs the staging database password' });
});
