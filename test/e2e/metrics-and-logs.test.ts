import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo } from '../support/git-repo.js';
import { postGoal } from '../support/goal-requests.js';
import { waitFor } from '../support/orchestration.js';
import { parsePrometheusText, sampleValue, type Sample } from '../support/prometheus-text.js';
import { REPO_ROOT, killAllServers, startServer, type ServerProcess } from '../support/server-process.js';

/**
 * What an operator sees of a real server running a goal (an agent task, a
 * gate, a review): the domain series at /metrics move, and the JSON log
 * (stdout is not a terminal) tells the goal's life at info, without a line
 * for every probe.
 */

let database: TestDatabase;
let tmp: string;
let server: ServerProcess;

beforeAll(async () => {
  database = await createTestDatabase();
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-ops-')));
  server = await startServer({
    dataDir: path.join(tmp, 'data'),
    databaseUrl: database.url,
    env: {
      ARBOR_AGENT: 'command',
      ARBOR_AGENT_COMMAND: `node ${path.join(REPO_ROOT, 'examples/agent.mjs')}`,
      ARBOR_WORKTREE_ROOT: path.join(tmp, 'worktrees'),
      ARBOR_POLL_INTERVAL_MS: '100',
      ARBOR_SPAWN_PER_SECOND: '0',
    },
  });
});

afterAll(async () => {
  if (server) await server.stop('SIGTERM').catch(() => undefined);
  await killAllServers();
  await database?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

async function scrape(): Promise<Sample[]> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  return parsePrometheusText(await res.text());
}

async function taskStatus(goalId: string, key: string): Promise<string> {
  const res = await fetch(`${server.url}/api/goals/${goalId}`);
  const body = (await res.json()) as { tasks: { key: string; status: string; error: string | null }[] };
  const task = body.tasks.find((t) => t.key === key)!;
  if (task.status === 'failed') throw new Error(`task ${key} failed: ${task.error}`);
  return task.status;
}

const logged = (msg: string, fields: Record<string, unknown> = {}) =>
  server.waitForLog(`'${msg}' ${JSON.stringify(fields)}`, (line) => line.msg === msg && Object.entries(fields).every(([k, v]) => line[k] === v), 30_000);

it('moves the domain series and logs the goal’s life at info while probes stay at debug', { timeout: 180_000 }, async () => {
  const before = await scrape();
  expect(sampleValue(before, 'arbor_goals', { status: 'succeeded' })).toBe(0);
  expect(sampleValue(before, 'arbor_gates_opened_total', { result: 'passed' })).toBe(0);
  expect(sampleValue(before, 'arbor_dispatch_latency_seconds_count')).toBe(0);
  for (let i = 0; i < 3; i++) expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

  const repo = (await createGitRepo({ parent: tmp })).path;
  const posted = await postGoal(server.url, {
    title: 'Watch me',
    repo,
    base_ref: 'main',
    agent: 'command',
    tasks: [
      { key: 'build', title: 'Build', instructions: 'Write a note.' },
      { key: 'deploy', title: 'Deployed', kind: 'wait_for_signal', gate: { type: 'deploy_check', env: 'prod' } },
      { key: 'ok', title: 'Sign-off', kind: 'human_review' },
    ],
  });
  const goalId = posted.goal.id;
  const id = (key: string) => posted.tasks.find((t) => t.key === key)!.id;

  await waitFor('the gate to open', async () => (await taskStatus(goalId, 'deploy')) === 'waiting', 60_000);
  // Read at scrape: the open goal's tasks by state.
  const open = await scrape();
  expect(sampleValue(open, 'arbor_tasks', { status: 'succeeded' })).toBe(1);
  expect(sampleValue(open, 'arbor_tasks', { status: 'waiting' })).toBe(1);
  expect(sampleValue(open, 'arbor_tasks', { status: 'pending' })).toBe(1);
  expect(sampleValue(open, 'arbor_goals', { status: 'running' })).toBe(1);

  const signal = await fetch(`${server.url}/api/signals/resolve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'deploy_check', env: 'prod', status: 'pass' }),
  });
  expect(signal.status).toBe(200);
  await waitFor('the review', async () => (await taskStatus(goalId, 'ok')) === 'review', 60_000);
  const approved = await fetch(`${server.url}/api/tasks/${id('ok')}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(approved.status).toBe(200);

  // The log tells the story, each line naming its goal (and task, key and attempt).
  await logged('goal created', { goal_id: goalId, goal: 'Watch me' });
  await logged('task started', { goal_id: goalId, task_key: 'build', task_id: id('build'), attempt: 1 });
  await logged('task finished', { goal_id: goalId, task_key: 'build', outcome: 'succeeded', attempt: 1 });
  await logged('gate opened', { goal_id: goalId, task_key: 'deploy' });
  await logged('gate passed', { goal_id: goalId, task_key: 'deploy' });
  await logged('review needed', { goal_id: goalId, task_key: 'ok' });
  await logged('review approved', { goal_id: goalId, task_key: 'ok' });
  const succeeded = await logged('goal succeeded', { goal_id: goalId });
  expect(succeeded.level).toBe(30);

  // The series moved (the event-derived counters once the observer has read the events it logged above).
  const after = await scrape();
  expect(sampleValue(after, 'arbor_goals', { status: 'succeeded' })).toBe(1);
  expect(sampleValue(after, 'arbor_goals', { status: 'running' })).toBe(0);
  expect(sampleValue(after, 'arbor_gates_opened_total', { result: 'passed' })).toBe(1);
  expect(sampleValue(after, 'arbor_signals_total', { type: 'other', status: 'pass' })).toBe(1);
  expect(sampleValue(after, 'arbor_dispatch_latency_seconds_count')).toBe(1);
  expect(sampleValue(after, 'arbor_task_run_duration_seconds_count', { outcome: 'succeeded' })).toBe(1);
  expect(sampleValue(after, 'arbor_sessions_running')).toBe(0);
  expect(sampleValue(after, 'arbor_notification_backlog')).toBe(0);
  expect(sampleValue(after, 'arbor_task_failures_total', { reason: 'agent' })).toBe(0);
  // Labels stay low-cardinality: no sample names a goal or a task.
  const labelValues = after.flatMap((s) => Object.values(s.labels));
  for (const value of [goalId, ...posted.tasks.map((t) => t.id)]) expect(labelValues).not.toContain(value);

  // Probes are logged at debug (below the info level this server runs at); other requests at info.
  const lines = server.logLines();
  expect(lines.filter((l) => l.msg === 'request' && (l.path === '/healthz' || l.path === '/metrics'))).toEqual([]);
  expect(lines.some((l) => l.msg === 'request' && l.path === '/api/goals' && l.level === 30)).toBe(true);
});
