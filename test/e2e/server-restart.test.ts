import { access, chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { designGoal } from '../support/app.js';
import { createGitRepo } from '../support/git-repo.js';
import { killAllServers, startServer, stopLeftoverPostgres, type ServerProcess } from '../support/server-process.js';

/**
 * The real server as a child process on its own embedded Postgres: a goal
 * posted before a graceful restart, and before a crash (SIGKILL, which leaves
 * the detached Postgres running for the next start to adopt), is still there.
 */

interface TaskJson {
  id: string;
  key: string;
  parent_id: string | null;
  depends_on: string[];
  kind: string;
  status: string;
}

interface GoalWithTasks {
  goal: { id: string; title: string; repo: string };
  tasks: TaskJson[];
}

/** Set once the repository exists: the server checks the goal's repo and agent CLI before taking it. */
let GOAL: ReturnType<typeof designGoal>;
/** The claude the server runs: the fake CLI, so the goal's agent is installed. */
const FAKE_CLAUDE = fileURLToPath(new URL('../fixtures/fake-claude.mjs', import.meta.url));

const ALL_KEYS = ['api', 'build', 'ci', 'ok', 'plan', 'ui'];

let dataDir: string;
let server: ServerProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbor-e2e-'));
  // mkdtemp makes it 0700; as root, Postgres runs as the postgres user, who must traverse it.
  await chmod(dataDir, 0o755);
  GOAL = designGoal((await createGitRepo({ parent: dataDir })).path);
});

afterAll(async () => {
  await killAllServers();
  if (dataDir) {
    try {
      await stopLeftoverPostgres(dataDir);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }
}, 120_000);

/** Whether the embedded cluster's lock file exists (removed by a clean Postgres shutdown). */
function postmasterPidExists(): Promise<boolean> {
  return access(path.join(dataDir, 'pg', 'postmaster.pid')).then(
    () => true,
    () => false,
  );
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

function byKey(tasks: TaskJson[]): Map<string, TaskJson> {
  return new Map(tasks.map((t) => [t.key, t]));
}

async function expectGoalStored(base: string, goalId: string, createdTasks: TaskJson[]): Promise<void> {
  const one = await getJson<GoalWithTasks>(`${base}/api/goals/${goalId}`);
  expect(one.status, JSON.stringify(one.body)).toBe(200);
  expect(one.body.goal.id).toBe(goalId);
  expect(one.body.goal.title).toBe(GOAL.title);
  expect(one.body.goal.repo).toBe(GOAL.repo);
  expect(one.body.tasks.map((t) => t.key).sort()).toEqual(ALL_KEYS);
  // The same rows, ids and edges as at creation.
  const before = byKey(createdTasks);
  for (const task of one.body.tasks) {
    const original = before.get(task.key)!;
    expect(task.id).toBe(original.id);
    expect(task.parent_id).toBe(original.parent_id);
    expect([...task.depends_on].sort()).toEqual([...original.depends_on].sort());
  }

  const list = await getJson<{ goals: { id: string }[] }>(`${base}/api/goals`);
  expect(list.status).toBe(200);
  expect(list.body.goals.map((g) => g.id)).toContain(goalId);
}

describe('the server as a child process across restarts', () => {
  it('keeps a goal across a graceful restart and a crash (adopting the running Postgres)', { timeout: 180_000 }, async () => {
    // 1. First start: a fresh embedded cluster is initialised and migrated.
    server = await startServer({ dataDir, env: { ARBOR_CLAUDE_BIN: FAKE_CLAUDE } });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const base = server.url;

    const health = await getJson<{ status: string }>(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);

    // 2. Create the goal from DESIGN section 7.
    const created = await fetch(`${base}/api/goals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(GOAL),
    });
    const createdBody = (await created.json()) as GoalWithTasks;
    expect(created.status, JSON.stringify(createdBody)).toBe(201);
    const goalId = createdBody.goal.id;
    expect(goalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(createdBody.tasks).toHaveLength(6);
    expect(createdBody.tasks.map((t) => t.key).sort()).toEqual(ALL_KEYS);

    const tasks = byKey(createdBody.tasks);
    const [plan, build, api, ui, ci, ok] = ['plan', 'build', 'api', 'ui', 'ci', 'ok'].map((k) => tasks.get(k)!);
    expect(plan!.parent_id).toBeNull();
    expect(build!.parent_id).toBeNull();
    expect(api!.parent_id).toBe(build!.id);
    expect(ui!.parent_id).toBe(build!.id);
    expect(ci!.kind).toBe('wait_for_signal');
    expect(ci!.depends_on).toContain(build!.id);
    expect(ok!.kind).toBe('human_review');
    expect(ok!.depends_on).toContain(ci!.id);
    // The group's dependency is inherited by its parallel children...
    expect(api!.depends_on).toContain(plan!.id);
    expect(ui!.depends_on).toContain(plan!.id);
    // ...which do not wait for each other.
    expect(api!.depends_on).not.toContain(ui!.id);
    expect(ui!.depends_on).not.toContain(api!.id);

    // 3. Graceful stop: exit code 0.
    const first = server;
    expect(await first.stop('SIGTERM'), first.output()).toEqual({ code: 0, signal: null });
    expect(await postmasterPidExists(), 'Postgres still running after a graceful stop').toBe(false);

    // 4. Second start on the same data dir: the goal is still there.
    server = await startServer({ dataDir, env: { ARBOR_CLAUDE_BIN: FAKE_CLAUDE } });
    expect(server.logLines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('adopting'))).toBe(false);
    await expectGoalStored(server.url, goalId, createdBody.tasks);

    // 5. Crash: SIGKILL leaves the detached Postgres running...
    const second = server;
    expect(await second.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await postmasterPidExists(), 'Postgres should outlive a killed server').toBe(true);

    // ...and the next start adopts it rather than tripping over its lock file.
    server = await startServer({ dataDir, env: { ARBOR_CLAUDE_BIN: FAKE_CLAUDE } });
    expect(
      server.logLines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('adopting embedded Postgres')),
      server.output(),
    ).toBe(true);
    const readyAgain = await fetch(`${server.url}/readyz`);
    expect(readyAgain.status).toBe(200);
    await expectGoalStored(server.url, goalId, createdBody.tasks);

    // Graceful stop again, which stops the adopted Postgres too.
    const third = server;
    expect(await third.stop('SIGTERM'), third.output()).toEqual({ code: 0, signal: null });
    expect(await postmasterPidExists(), 'the adopted Postgres still running after a graceful stop').toBe(false);
  });
});
