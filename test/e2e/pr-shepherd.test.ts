import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo, git } from '../support/git-repo.js';
import { GithubStub } from '../support/github-stub/github-stub.js';
import { waitFor } from '../support/orchestration.js';
import { REPO_ROOT, killAllServers, startServer, type ServerProcess } from '../support/server-process.js';

/**
 * The PR shepherd end to end: the real server as a child process, one API
 * call starting the shipped pr-shepherd template, a command agent
 * (test/fixtures/shepherd-agent.mjs) that commits, pushes to a bare "GitHub"
 * remote, opens the pull request on the GitHub stub and reports it through
 * MCP; CI results arriving as signed check_suite webhooks (GitHub's example
 * payload, edited) that Arbor confirms through the stub's checks API; the
 * review bot's signal and a person's approval.
 */

const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, any>[] }[];

const API_TOKEN = 'shepherd-e2e-api-token-0123456789abcdef';
const SIGNAL_TOKEN = 'shepherd-e2e-signal-token-0123456789abcdef';
const WEBHOOK_SECRET = 'shepherd-e2e-webhook-secret';
const GITHUB_TOKEN = 'ghs_shepherd-e2e-github-token';
const REPO = 'acme/web';
const AUTH = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };

interface TaskJson {
  id: string;
  key: string;
  status: string;
  error: string | null;
  result: Record<string, any> | null;
}

let database: TestDatabase;
let tmp: string;
let prompts: string;
let stub: GithubStub;
let server: ServerProcess;
let repo: string;

beforeAll(async () => {
  database = await createTestDatabase();
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-shepherd-')));
  prompts = path.join(tmp, 'prompts');
  await mkdir(prompts);
  repo = (await createGitRepo({ parent: tmp })).path;
  // The repository's `origin` is a bare repository the stub treats as GitHub's copy.
  const remote = path.join(tmp, 'github-remote.git');
  git(tmp, 'init', '-q', '--bare', '-b', 'main', remote);
  git(repo, 'remote', 'add', 'origin', remote);
  git(repo, 'push', '-q', 'origin', 'main');
  stub = await new GithubStub(GITHUB_TOKEN).start();
  stub.linkRemote(REPO, remote);
  server = await startServer({
    dataDir: path.join(tmp, 'data'),
    databaseUrl: database.url,
    env: {
      ARBOR_API_TOKEN: API_TOKEN,
      ARBOR_SIGNAL_TOKEN: SIGNAL_TOKEN,
      ARBOR_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      ARBOR_GITHUB_TOKEN: GITHUB_TOKEN,
      ARBOR_GITHUB_API_URL: stub.url,
      ARBOR_AGENT: 'command',
      ARBOR_AGENT_COMMAND: `${process.execPath} ${path.join(REPO_ROOT, 'test/fixtures/shepherd-agent.mjs')}`,
      ARBOR_WORKTREE_ROOT: path.join(tmp, 'worktrees'),
      ARBOR_POLL_INTERVAL_MS: '100',
      ARBOR_SPAWN_PER_SECOND: '0',
      SHEPHERD_PROMPTS: prompts,
      SHEPHERD_GITHUB_URL: stub.url,
      SHEPHERD_GITHUB_TOKEN: GITHUB_TOKEN,
    },
  });
}, 120_000);

afterAll(async () => {
  if (server) await server.stop('SIGTERM').catch(() => undefined);
  await killAllServers();
  await stub?.stop();
  await database?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

async function api(method: string, route: string, body?: unknown, headers: Record<string, string> = AUTH) {
  const res = await fetch(`${server.url}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

async function tasksOf(goalId: string): Promise<Record<string, TaskJson>> {
  const { body } = await api('GET', `/api/goals/${goalId}`);
  return Object.fromEntries((body.tasks as TaskJson[]).map((t) => [t.key, t]));
}

/** The goal's tasks once `ready` accepts them; fails early with the tree when the goal ended. */
async function tasksWhen(goalId: string, what: string, ready: (tasks: Record<string, TaskJson>) => boolean) {
  return waitFor(
    what,
    async () => {
      const tasks = await tasksOf(goalId);
      if (ready(tasks)) return tasks;
      const goal = (await api('GET', `/api/goals/${goalId}`)).body.goal;
      if (['failed', 'cancelled'].includes(goal.status)) {
        throw new Error(`goal ${goal.status} while waiting for ${what}: ${JSON.stringify(Object.values(tasks).map((t) => [t.key, t.status, t.error]))}`);
      }
      return undefined;
    },
    90_000,
  );
}

/** The gate as Arbor bound it when it opened, as the API shows it (and as stored). */
async function boundGate(taskId: string): Promise<any> {
  const row = await database.db.selectFrom('tasks').select('gateBound').where('id', '=', taskId).executeTakeFirstOrThrow();
  const shown = (await api('GET', `/api/tasks/${taskId}`)).body.gate_bound;
  expect(shown).toEqual(row.gateBound);
  return shown;
}

let suiteIds = 900_000_000;
let deliveries = 0;

/** A completed check_suite of `app` for pull request `pr` at `sha`, as GitHub sends it: the example payload, signed. */
async function deliverCheckSuite(app: string, pr: number, sha: string, conclusion: 'success' | 'failure') {
  const payload = structuredClone(
    definitions.find((d) => d.name === 'check_suite')!.examples.find((p) => p.action === 'completed' && p.check_suite.pull_requests.length > 0)!,
  );
  payload.repository.full_name = REPO;
  payload.check_suite.id = ++suiteIds;
  payload.check_suite.app.name = app;
  payload.check_suite.conclusion = conclusion;
  payload.check_suite.head_sha = sha;
  payload.check_suite.pull_requests = [{ ...payload.check_suite.pull_requests[0], number: pr, head: { ...payload.check_suite.pull_requests[0].head, sha } }];
  const body = JSON.stringify(payload);
  const res = await fetch(`${server.url}/api/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'check_suite',
      'x-github-delivery': `00000000-0000-4000-8000-${String(++deliveries).padStart(12, '0')}`,
      'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`,
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Waits until Arbor has asked the stub for the checks of `sha`. */
function checksAskedFor(sha: string) {
  return waitFor(`Arbor to ask for the checks of ${sha.slice(0, 7)}`, () => stub.requests.some((r) => r.path.includes(`/commits/${sha}/check-runs`)), 30_000);
}

async function promptOfRun(n: number): Promise<string> {
  return waitFor(`the agent's run ${n}`, async () => ((await readdir(prompts)).includes(`run-${n}.txt`) ? readFile(path.join(prompts, `run-${n}.txt`), 'utf8') : undefined), 90_000);
}

it('shepherds a pull request from one API call to approved and green, through a red CI run, a new push, stale and partial CI', { timeout: 300_000 }, async () => {
  const started = await api('POST', '/api/templates/pr-shepherd/goals', {
    params: { repo, pr_title: 'Make the login test independent of the clock', instructions: 'Freeze the clock in the login test.' },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  const goalId = started.body.goal.id as string;

  // The agent pushed its branch and opened the pull request; the CI gate bound to its head.
  let tasks = await tasksWhen(goalId, 'the CI gate to wait on the first push', (t) => t.ci!.status === 'waiting');
  const [pull] = stub.pulls(REPO);
  expect(pull).toBeDefined();
  const branch = pull!.head.ref;
  const first = git(repo, 'rev-parse', `refs/heads/${branch}`);
  expect(pull!.head.sha).toBe(first);
  expect(pull!.base.ref).toBe('main');
  expect(tasks.implement!.result?.pull_request).toMatchObject({ url: `https://github.com/${REPO}/pull/${pull!.number}`, head_sha: first });
  expect(await boundGate(tasks.ci!.id)).toMatchObject({ type: 'gh_ci', repo: REPO, pr: pull!.number, sha: first });
  // CI may have finished before a gate opens, so an opened gate asks the checks API once: nothing has reported yet.
  await checksAskedFor(first);

  // CI fails on the first head: the failing check's name and title reach the agent's next prompt.
  stub.setCheckRun(REPO, first, { name: 'unit-tests', status: 'completed', conclusion: 'success', app: 'GitHub Actions' });
  stub.setCheckRun(REPO, first, { name: 'lint', status: 'completed', conclusion: 'failure', title: '3 lint errors in login.test.ts', app: 'GitHub Actions' });
  const red = await deliverCheckSuite('GitHub Actions', pull!.number, first, 'failure');
  expect(red.status, JSON.stringify(red.body)).toBe(200);
  expect(red.body.signals).toEqual([expect.objectContaining({ matched: [tasks.ci!.id], duplicate: false })]);
  const rework = await promptOfRun(2);
  expect(rework).toContain('lint');
  expect(rework).toContain('3 lint errors in login.test.ts');

  // The rework pushed a new head: the gate re-binds to it.
  tasks = await tasksWhen(goalId, 'the CI gate to wait on the second push', (t) => t.ci!.status === 'waiting' && t.implement!.result?.pull_request?.head_sha !== first);
  const second = git(repo, 'rev-parse', `refs/heads/${branch}`);
  expect(second).not.toBe(first);
  expect(stub.pull(REPO, pull!.number)!.head.sha).toBe(second);
  expect(await boundGate(tasks.ci!.id)).toMatchObject({ pr: pull!.number, sha: second });
  await checksAskedFor(second);

  // A success for the old head does not pass the gate: not through the webhook
  // (the checks API is asked about the current head, which has no checks yet)...
  stub.setCheckRun(REPO, first, { name: 'lint', status: 'completed', conclusion: 'success', app: 'GitHub Actions' });
  const stale = await deliverCheckSuite('GitHub Actions', pull!.number, first, 'success');
  expect(stale.status, JSON.stringify(stale.body)).toBe(200);
  expect(stale.body).toMatchObject({ signals: [], pending: [expect.stringContaining(second.slice(0, 7))] });
  // ...nor as a CI bridge's own verdict naming the old sha: it only nudges a look at the current head.
  const bridged = await api('POST', '/api/signals/resolve', { type: 'gh_ci', repo: REPO, pr: pull!.number, sha: first, status: 'pass' }, { authorization: `Bearer ${SIGNAL_TOKEN}`, 'content-type': 'application/json' });
  expect(bridged.status, JSON.stringify(bridged.body)).toBe(202);
  expect(bridged.body).toEqual({ pending: expect.stringContaining(second.slice(0, 7)) });
  expect((await tasksOf(goalId)).ci!.status).toBe('waiting');

  // Two workflows on the new head: the first green one is not the verdict while the other runs.
  stub.setCheckRun(REPO, second, { name: 'lint', status: 'completed', conclusion: 'success', app: 'lint-workflow' });
  stub.setCheckRun(REPO, second, { name: 'e2e', status: 'in_progress', app: 'e2e-workflow' });
  const partial = await deliverCheckSuite('lint-workflow', pull!.number, second, 'success');
  expect(partial.status, JSON.stringify(partial.body)).toBe(200);
  expect(partial.body).toMatchObject({ signals: [], pending: [expect.stringContaining('e2e')] });
  expect((await tasksOf(goalId)).ci!.status).toBe('waiting');

  stub.setCheckRun(REPO, second, { name: 'e2e', status: 'completed', conclusion: 'success', app: 'e2e-workflow' });
  const green = await deliverCheckSuite('e2e-workflow', pull!.number, second, 'success');
  expect(green.status, JSON.stringify(green.body)).toBe(200);
  expect(green.body.signals).toEqual([expect.objectContaining({ matched: [tasks.ci!.id] })]);

  // The review bot approves the pull request, with the token that may only post signals.
  tasks = await tasksWhen(goalId, 'the review-bot gate to wait', (t) => t['bot-review']!.status === 'waiting');
  expect(tasks.ci!.status).toBe('succeeded');
  const bot = await api(
    'POST',
    '/api/signals/resolve',
    { type: 'centaur_review', pr_url: `https://github.com/${REPO}/pull/${pull!.number}`, status: 'pass', summary: 'LGTM' },
    { 'x-internal-token': SIGNAL_TOKEN, 'content-type': 'application/json' },
  );
  expect(bot.status, JSON.stringify(bot.body)).toBe(200);
  expect(bot.body.matched).toEqual([tasks['bot-review']!.id]);

  // A person approves; the goal is done.
  tasks = await tasksWhen(goalId, 'the human review', (t) => t['human-review']!.status === 'review');
  const approved = await api('POST', `/api/tasks/${tasks['human-review']!.id}/approve`, {});
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  const done = await waitFor('the goal to succeed', async () => {
    const { body } = await api('GET', `/api/goals/${goalId}`);
    return body.goal.status === 'succeeded' ? body : undefined;
  }, 30_000);
  expect(done.tasks.map((t: TaskJson) => [t.key, t.status])).toEqual([
    ['implement', 'succeeded'],
    ['ci', 'succeeded'],
    ['bot-review', 'succeeded'],
    ['human-review', 'succeeded'],
  ]);
  // One pull request all along, updated by the second push rather than opened again.
  expect(stub.pulls(REPO)).toHaveLength(1);
  expect((await readdir(prompts)).sort()).toEqual(['run-1.txt', 'run-2.txt']);
});
