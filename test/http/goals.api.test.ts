import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../server/http/app.js';
import { createLogger } from '../../server/logger.js';
import type { AgentSettings } from '../../server/sessions/agents/index.js';
import { createGoalPreflight } from '../../server/sessions/goal-preflight.js';
import { createGitRepo, git, type TestRepo } from '../support/git-repo.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { call, designGoal, rowCounts, testApp, testConfig, type RowCounts } from '../support/app.js';

let database: TestDatabase;
let app: ReturnType<typeof testApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  app = testApp(database.db, testConfig({ http: { bodyLimitBytes: 64 * 1024 }, goals: { maxTasksPerGoal: 50, maxTreeDepth: 6 } }));
});
afterAll(() => database.destroy());

describe('POST /api/goals', () => {
  it('stores the design goal: six tasks, a parallel build, ci after build', async () => {
    const before = await rowCounts(database.db);
    const res = await call(app, 'POST', '/api/goals', designGoal());
    expect(res.status).toBe(201);
    const { goal, tasks } = res.json;
    expect(goal).toMatchObject({ title: 'Add dark mode', status: 'pending', base_ref: 'main', agent: 'claude', max_parallel: 4 });
    expect(tasks.map((t: any) => t.key)).toEqual(['plan', 'build', 'api', 'ui', 'ci', 'ok']);
    const byKey = Object.fromEntries(tasks.map((t: any) => [t.key, t]));
    expect(byKey.build.kind).toBe('group');
    expect(byKey.build.children_mode).toBe('parallel');
    expect(byKey.api.parent_id).toBe(byKey.build.id);
    expect(byKey.ui.parent_id).toBe(byKey.build.id);
    expect(byKey.api.depends_on).toEqual([byKey.plan.id]);
    expect(byKey.ui.depends_on).toEqual([byKey.plan.id]);
    expect(byKey.ci.depends_on).toEqual([byKey.build.id]);
    expect(byKey.ci.gate).toEqual({ type: 'gh_ci', repo: 'acme/web', pr: 42, on_timeout: 'fail', rework: 2 });
    expect(byKey.ok.kind).toBe('human_review');
    expect(tasks.every((t: any) => t.status === 'pending' && t.goal_id === goal.id)).toBe(true);

    const after = await rowCounts(database.db);
    expect(after.goals - before.goals).toBe(1);
    expect(after.tasks - before.tasks).toBe(6);
    // plan<-build, plan<-api, plan<-ui, build<-ci, ci<-ok
    expect(after.edges - before.edges).toBe(5);
    expect(after.gatekeys - before.gatekeys).toBe(1);
    expect(after.events - before.events).toBe(1);
  });

  it('defaults what the body leaves out', async () => {
    const res = await call(app, 'POST', '/api/goals', { title: 'Small', repo: '/r', tasks: [{ key: 'only', title: 'Only' }] });
    expect(res.status).toBe(201);
    expect(res.json.goal).toMatchObject({ base_ref: 'HEAD', agent: 'claude', children_mode: 'sequential', max_parallel: 4 });
    expect(res.json.tasks[0]).toMatchObject({ kind: 'agent', session_policy: 'auto', max_attempts: 2, attempt: 0 });
  });

  it("keeps the goal's pull_request in its metadata, where each agent run finds it", async () => {
    const pullRequest = { repo: 'acme/web', base: 'main', title: 'Dark mode', draft: true };
    const res = await call(app, 'POST', '/api/goals', { title: 'PR goal', repo: '/r', pull_request: pullRequest, tasks: [{ key: 'only', title: 'Only' }] });
    expect(res.status).toBe(201);
    expect(res.json.goal.metadata).toEqual({ pull_request: pullRequest });
  });

  it("refuses a goal's pull_request of the wrong shape, naming the field", async () => {
    const res = await call(app, 'POST', '/api/goals', { title: 'PR goal', repo: '/r', pull_request: { base: 'main' }, tasks: [{ key: 'only', title: 'Only' }] });
    expect(res.status).toBe(422);
    expect(res.json.error).toMatch(/pull_request\.title/);
  });
});

describe('bad input answers with its status and changes nothing', () => {
  let before: RowCounts;
  beforeEach(async () => {
    before = await rowCounts(database.db);
  });

  async function expectRejected(
    request: Promise<Awaited<ReturnType<typeof call>>>,
    status: number,
    message: RegExp,
  ) {
    const res = await request;
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ error: expect.stringMatching(message), request_id: expect.any(String) });
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await rowCounts(database.db)).toEqual(before);
    return res.json;
  }

  const goalWith = (tasks: unknown[], extra: Record<string, unknown> = {}) => ({ title: 'G', repo: '/r', tasks, ...extra });

  it('400 for malformed JSON', async () => {
    await expectRejected(call(app, 'POST', '/api/goals', '{"title": '), 400, /malformed json/i);
  });

  it('415 for a body that is not JSON', async () => {
    await expectRejected(
      call(app, 'POST', '/api/goals', 'title=x', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      /application\/json/,
    );
  });

  it('413 above the body limit', async () => {
    const big = goalWith([{ key: 'a', title: 'A', instructions: 'x'.repeat(70 * 1024) }]);
    await expectRejected(call(app, 'POST', '/api/goals', big), 413, /larger than 65536 bytes/);
  });

  it('422 for wrong shapes, naming the field', async () => {
    const missing = await expectRejected(call(app, 'POST', '/api/goals', { repo: '/r', tasks: [] }), 422, /invalid request/);
    expect(missing.details.map((d: any) => d.path)).toEqual(expect.arrayContaining(['title', 'tasks']));
    await expectRejected(call(app, 'POST', '/api/goals', goalWith([{ key: 'a', title: 'A', colour: 'red' }])), 422, /colour/);
    await expectRejected(call(app, 'POST', '/api/goals', goalWith([{ key: 'a', title: 'A' }], { repo: 'relative/path' })), 422, /absolute path/);
    await expectRejected(call(app, 'POST', '/api/goals', goalWith([{ key: 'a', title: 'A', kind: 'robot' }])), 422, /kind/);
    await expectRejected(call(app, 'POST', '/api/goals', goalWith([{ key: 'a', title: 'A', max_attempts: 0 }])), 422, /max_attempts/);
    await expectRejected(call(app, 'POST', '/api/goals', [1, 2]), 422, /invalid request/);
  });

  it('422 for an unknown depends_on key, naming the task', async () => {
    const body = goalWith([{ key: 'a', title: 'A' }, { key: 'b', title: 'B', depends_on: ['zzz'] }]);
    const json = await expectRejected(call(app, 'POST', '/api/goals', body), 422, /^task "b": depends_on names unknown task "zzz"$/);
    expect(json.details).toEqual([{ task: 'b', message: 'depends_on names unknown task "zzz"' }]);
  });

  it('422 for a cycle, naming it', async () => {
    const body = goalWith(
      [
        { key: 'x', title: 'X', depends_on: ['y'] },
        { key: 'y', title: 'Y', depends_on: ['x'] },
      ],
      { children_mode: 'parallel' },
    );
    await expectRejected(call(app, 'POST', '/api/goals', body), 422, /dependency cycle: (x -> y -> x|y -> x -> y)/);
  });

  it('422 for duplicate keys', async () => {
    const body = goalWith([{ key: 'a', title: 'A' }, { key: 'a', title: 'again' }]);
    await expectRejected(call(app, 'POST', '/api/goals', body), 422, /duplicate task key "a"/);
  });

  it('422 for gates in the wrong place or of an unknown shape', async () => {
    const gate = { type: 'gh_ci', repo: 'a/b', pr: 1 };
    await expectRejected(call(app, 'POST', '/api/goals', goalWith([{ key: 'a', title: 'A', gate }])), 422, /gate belongs on a wait_for_signal task/);
    await expectRejected(
      call(app, 'POST', '/api/goals', goalWith([{ key: 'w', title: 'W', kind: 'wait_for_signal' }])),
      422,
      /needs a gate/,
    );
    await expectRejected(
      call(app, 'POST', '/api/goals', goalWith([{ key: 'w', title: 'W', kind: 'wait_for_signal', gate: { kind: 'ci' } }])),
      422,
      /type must be a lowercase name/,
    );
  });

  it('422 above the task limit and the depth limit', async () => {
    const many = Array.from({ length: 51 }, (_, i) => ({ key: `t${i}`, title: 'T' }));
    await expectRejected(call(app, 'POST', '/api/goals', goalWith(many)), 422, /at most 50 tasks/);
    let deep: any = { key: 'leaf', title: 'L' };
    for (let i = 0; i < 7; i++) deep = { key: `g${i}`, title: 'G', children: [deep] };
    await expectRejected(call(app, 'POST', '/api/goals', goalWith([deep])), 422, /nested deeper than 6 levels/);
  });

  it('422 for pathological nesting and NUL characters, before they reach the parser or the database', async () => {
    let nested: any = 'x';
    for (let i = 0; i < 2000; i++) nested = [nested];
    await expectRejected(call(app, 'POST', '/api/goals', goalWith([{ key: 'a', title: 'A', metadata: { nested } }])), 422, /nested too deeply/);
    await expectRejected(call(app, 'POST', '/api/goals', goalWith([{ key: 'a', title: 'nul\u0000' }])), 422, /NUL/);
  });
});

describe('reading goals and tasks', () => {
  it('GET /api/goals/:id returns the goal with its tasks; unknown and malformed ids are 404', async () => {
    const created = (await call(app, 'POST', '/api/goals', designGoal())).json;
    const res = await call(app, 'GET', `/api/goals/${created.goal.id}`);
    expect(res.status).toBe(200);
    expect(res.json.goal.id).toBe(created.goal.id);
    expect(res.json.tasks).toEqual(created.tasks);

    const missing = await call(app, 'GET', '/api/goals/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toBe('goal not found');
    expect((await call(app, 'GET', '/api/goals/not-a-uuid')).status).toBe(404);
  });

  it('GET /api/tasks/:id returns one task', async () => {
    const created = (await call(app, 'POST', '/api/goals', designGoal())).json;
    const ci = created.tasks.find((t: any) => t.key === 'ci');
    const res = await call(app, 'GET', `/api/tasks/${ci.id}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual(ci);
    expect((await call(app, 'GET', '/api/tasks/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('GET /api/goals pages newest first and filters by status', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await call(app, 'POST', '/api/goals', { title: `page ${i}`, repo: '/r', tasks: [{ key: 'a', title: 'A' }] })).json.goal.id);
    }
    const first = await call(app, 'GET', '/api/goals?limit=2');
    expect(first.status).toBe(200);
    expect(first.json.goals.map((g: any) => g.id)).toEqual([ids[2], ids[1]]);
    const second = await call(app, 'GET', `/api/goals?limit=2&cursor=${first.json.next_cursor}`);
    expect(second.json.goals[0].id).toBe(ids[0]);

    await call(app, 'POST', `/api/goals/${ids[1]}/pause`);
    const paused = await call(app, 'GET', '/api/goals?status=paused');
    expect(paused.json.goals.map((g: any) => g.id)).toEqual([ids[1]]);
    expect(paused.json.next_cursor).toBeNull();

    expect((await call(app, 'GET', '/api/goals?status=sleeping')).status).toBe(422);
    expect((await call(app, 'GET', '/api/goals?cursor=abc')).status).toBe(422);
    expect((await call(app, 'GET', '/api/goals?limit=0')).status).toBe(422);
  });
});

describe('goal commands', () => {
  async function newGoal() {
    return (await call(app, 'POST', '/api/goals', designGoal())).json as { goal: { id: string }; tasks: { id: string }[] };
  }

  it('pause -> resume -> cancel, each written as an event', async () => {
    const { goal } = await newGoal();
    const before = await rowCounts(database.db);
    const paused = await call(app, 'POST', `/api/goals/${goal.id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.json.goal.status).toBe('paused');
    const resumed = await call(app, 'POST', `/api/goals/${goal.id}/resume`);
    expect(resumed.json.goal.status).toBe('running');
    const cancelled = await call(app, 'POST', `/api/goals/${goal.id}/cancel`);
    expect(cancelled.json.goal.status).toBe('cancelled');
    expect(cancelled.json.goal.finished_at).not.toBeNull();

    const { tasks } = (await call(app, 'GET', `/api/goals/${goal.id}`)).json;
    expect(tasks.map((t: any) => t.status)).toEqual(Array(6).fill('cancelled'));
    const after = await rowCounts(database.db);
    // paused, resumed, cancelled + one per cancelled task
    expect(after.events - before.events).toBe(3 + 6);
  });

  it('409 for a transition that is not allowed now, and nothing changes', async () => {
    const { goal } = await newGoal();
    const before = await rowCounts(database.db);
    const res = await call(app, 'POST', `/api/goals/${goal.id}/resume`);
    expect(res.status).toBe(409);
    expect(res.json.error).toBe('cannot resume a goal that is pending');
    expect(await rowCounts(database.db)).toEqual(before);

    await call(app, 'POST', `/api/goals/${goal.id}/cancel`);
    const again = await call(app, 'POST', `/api/goals/${goal.id}/cancel`);
    expect(again.status).toBe(409);
    expect((await call(app, 'POST', `/api/goals/${goal.id}/pause`)).status).toBe(409);
  });

  it('404 for an unknown goal', async () => {
    const res = await call(app, 'POST', '/api/goals/00000000-0000-4000-8000-000000000000/pause');
    expect(res.status).toBe(404);
    expect((await call(app, 'POST', '/api/goals/nope/cancel')).status).toBe(404);
  });

  it('two racing cancels: exactly one applies', async () => {
    const { goal } = await newGoal();
    const results = await Promise.all([1, 2, 3].map(() => call(app, 'POST', `/api/goals/${goal.id}/cancel`)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
  });
});

describe('the HTTP edge', () => {
  it('answers unknown routes with the JSON error shape and echoes the request id', async () => {
    const res = await app.request('/api/nothing', { headers: { 'X-Request-Id': 'trace-123' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    expect(await res.json()).toEqual({ error: 'no route for GET /api/nothing', request_id: 'trace-123' });
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await call(app, 'GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await call(app, 'GET', '/readyz')).json).toEqual({ status: 'ready' });
    const metrics = await call(app, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/arbor_http_requests_total\{method="GET",route="\/readyz",status="200"\} 1/);
    const doc = await call(app, 'GET', '/openapi.json');
    expect(doc.json.openapi).toBe('3.1.0');
    expect(Object.keys(doc.json.paths)).toEqual(
      expect.arrayContaining(['/api/goals', '/api/goals/{id}', '/api/goals/{id}/pause', '/api/goals/{id}/resume', '/api/goals/{id}/cancel', '/api/tasks/{id}']),
    );
    expect(doc.json.paths['/api/goals'].post.responses).toHaveProperty('422');
  });
});

describe('POST /api/goals checks what the goal will need before accepting it', () => {
  const FAKE_CLAUDE = fileURLToPath(new URL('../fixtures/fake-claude.mjs', import.meta.url));
  let tmp: string;
  let repo: TestRepo;
  let checked: ReturnType<typeof createApp>;
  let before: RowCounts;

  const agents: AgentSettings = {
    claude: { bin: FAKE_CLAUDE, permissionMode: 'acceptEdits', extraArgs: [] },
    codex: { bin: 'arbor-test-no-such-codex', sandbox: 'workspace-write', extraArgs: [] },
    command: { argv: [] },
  };
  const appWith = (runsAgents: boolean) =>
    createApp({
      db: database.db,
      logger: createLogger('silent'),
      config: testConfig(),
      goalPreflight: createGoalPreflight({ agents, env: { PATH: process.env.PATH ?? '' }, runsAgents }),
    });

  beforeAll(async () => {
    tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-preflight-')));
    repo = await createGitRepo({ parent: tmp });
    checked = appWith(true);
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));
  beforeEach(async () => {
    before = await rowCounts(database.db);
  });

  const goal = (fields: Record<string, unknown>) => ({ title: 'G', repo: repo.path, base_ref: 'main', tasks: [{ key: 'a', title: 'A' }], ...fields });

  async function expect422(res: Awaited<ReturnType<typeof call>>, field: string, message: RegExp) {
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ error: expect.stringMatching(message), details: [{ path: field, message: res.json.error }] });
    expect(await rowCounts(database.db)).toEqual(before);
  }

  it('accepts a goal whose repository, base_ref and agent CLI are all there', async () => {
    const res = await call(checked, 'POST', '/api/goals', goal({ agent: 'claude' }));
    expect(res.status).toBe(201);
  });

  it('422 for a repo that does not exist, or is not a git repository', async () => {
    await expect422(await call(checked, 'POST', '/api/goals', goal({ repo: path.join(tmp, 'missing') })), 'repo', /^repo .*missing does not exist on this machine/);
    const plain = await mkdtemp(path.join(tmp, 'plain-'));
    await expect422(await call(checked, 'POST', '/api/goals', goal({ repo: plain })), 'repo', /^repo .* is not a usable git repository \(.*not a git repository/);
  });

  it('422 for a base_ref that names no commit in the repository', async () => {
    await expect422(await call(checked, 'POST', '/api/goals', goal({ base_ref: 'no-such-branch' })), 'base_ref', /^base_ref "no-such-branch" names no commit in /);
  });

  it('422 for a base_ref git would take for an option, whether or not the repository can be checked', async () => {
    for (const target of [checked, app]) {
      await expect422(await call(target, 'POST', '/api/goals', goal({ base_ref: '--output=/tmp/x' })), 'base_ref', /starts with "-"/);
    }
  });

  it('422 naming the setting when the agent CLI is not installed', async () => {
    await expect422(await call(checked, 'POST', '/api/goals', goal({ agent: 'codex' })), 'agent', /"arbor-test-no-such-codex" is not installed.*set ARBOR_CODEX_BIN.*ARBOR_AGENT=command/);
    await expect422(await call(checked, 'POST', '/api/goals', goal({ agent: 'command' })), 'agent', /set ARBOR_AGENT_COMMAND/);
  });

  it('accepts a git URL whose remote answers and has base_ref; 422 when it does not answer or lacks base_ref', async () => {
    const remote = path.join(tmp, 'remote.git');
    git(tmp, 'clone', '-q', '--bare', repo.path, remote);
    expect((await call(checked, 'POST', '/api/goals', goal({ repo: `file://${remote}` }))).status).toBe(201);
    before = await rowCounts(database.db);
    await expect422(await call(checked, 'POST', '/api/goals', goal({ repo: `file://${remote}`, base_ref: 'nope' })), 'base_ref', /^base_ref "nope" is no branch or tag of file:/);
    await expect422(await call(checked, 'POST', '/api/goals', goal({ repo: `file://${path.join(tmp, 'gone.git')}` })), 'repo', /^repo file:.*gone\.git cannot be read/);
    const helper = await call(checked, 'POST', '/api/goals', goal({ repo: 'ext::sh -c touch% /tmp/pwned' }));
    expect(helper.status).toBe(422);
    expect(helper.json.error).toMatch(/repo: must be an absolute path or a git URL/);
  });

  it('an instance that runs no agents checks only a repository it can see', async () => {
    const apiOnly = appWith(false);
    expect((await call(apiOnly, 'POST', '/api/goals', goal({ agent: 'codex', repo: path.join(tmp, 'on-a-worker') }))).status).toBe(201);
    before = await rowCounts(database.db);
    await expect422(await call(apiOnly, 'POST', '/api/goals', goal({ base_ref: 'no-such-branch' })), 'base_ref', /names no commit/);
  });
});
