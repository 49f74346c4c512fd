import { sql } from 'kysely';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { killAllServers, startServer } from '../support/server-process.js';
import { waitFor, waitForGoal } from '../support/orchestration.js';

/**
 * The server process is killed with SIGKILL in the middle of a run and started
 * again: every task still ends succeeded, none is lost or run twice to
 * success.
 */

let database: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbor-crash-'));
});
afterAll(async () => {
  await killAllServers();
  await database.destroy();
  await rm(dataDir, { recursive: true, force: true });
});

const serverEnv = (instance: string) => ({
  ARBOR_INSTANCE_ID: instance,
  ARBOR_LEASE_MS: '1500',
  ARBOR_POLL_INTERVAL_MS: '100',
  ARBOR_RETRY_BASE_MS: '50',
  ARBOR_MAX_SESSIONS: '4',
  ARBOR_SPAWN_PER_SECOND: '0',
  SCRIPTED_AGENT_MS: '150',
});

it('recovers every task after a SIGKILL mid-run', async () => {
  const start = (instance: string) =>
    startServer({
      dataDir,
      databaseUrl: database.url,
      entry: 'test/fixtures/arbor-with-scripted-agents.ts',
      env: serverEnv(instance),
    });
  const first = await start('crash-first');
  // Four lanes of eight tasks in sequence: work is always in flight.
  const lanes = Array.from({ length: 4 }, (_, lane) => ({
    key: `lane${lane}`,
    title: `Lane ${lane}`,
    children: Array.from({ length: 8 }, (_, i) => ({ key: `l${lane}-${i}`, title: `Step ${i}`, session_policy: 'spawn' })),
  }));
  const created = await fetch(`${first.url}/api/goals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'crash', repo: '/tmp/r', children_mode: 'parallel', max_parallel: 4, tasks: lanes }),
  });
  expect(created.status).toBe(201);
  const { goal } = (await created.json()) as { goal: { id: string } };

  const counts = async () => {
    const rows = await database.db.selectFrom('tasks').select(['status', 'kind']).where('goalId', '=', goal.id).execute();
    const agents = rows.filter((r) => r.kind === 'agent');
    return { running: agents.filter((r) => r.status === 'running').length, succeeded: agents.filter((r) => r.status === 'succeeded').length };
  };
  await waitFor('some tasks done and some running', async () => {
    const c = await counts();
    return c.succeeded >= 4 && c.running > 0;
  });
  const runningAtKill = await database.db
    .selectFrom('tasks')
    .select('id')
    .where('goalId', '=', goal.id)
    .where('kind', '=', 'agent')
    .where('status', '=', 'running')
    .execute();
  await first.stop('SIGKILL');

  const second = await start('crash-second');
  try {
    await waitForGoal(database.db, goal.id, 'succeeded', 60_000);
  } finally {
    await second.stop('SIGTERM');
  }
  const tasks = await database.db.selectFrom('tasks').selectAll().where('goalId', '=', goal.id).execute();
  expect(tasks.every((t) => t.status === 'succeeded')).toBe(true);
  // The runs cut off by the kill went round again; the attempt number shows it.
  const rerun = tasks.filter((t) => runningAtKill.some((r) => r.id === t.id));
  expect(rerun.length).toBeGreaterThan(0);
  expect(rerun.some((t) => t.attempt >= 2)).toBe(true);
  // Each task succeeded exactly once: no run was recorded twice.
  const { rows } = await sql<{ taskId: string; n: number }>`
    SELECT task_id, count(*)::int AS n FROM events
    WHERE goal_id = ${goal.id} AND task_id IS NOT NULL AND data->>'to' = 'succeeded'
    GROUP BY task_id`.execute(database.db);
  expect(rows).toHaveLength(tasks.length);
  expect(rows.every((r) => r.n === 1)).toBe(true);
}, 120_000);
