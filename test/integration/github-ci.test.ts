import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGithubClient } from '../../server/github/github-client.js';
import { withPullRequests } from '../../server/github/pull-request-runner.js';
import { createLogger } from '../../server/logger.js';
import { applyGoalCommand } from '../../server/store/goals.js';
import { endTaskRun, listTaskRuns, startTaskRun } from '../../server/store/task-runs.js';
import { createTestSession } from '../support/sessions.js';
import { call, testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { GithubStub } from '../support/github-stub/github-stub.js';
import { byKey, createGoal, createOrchestrator, fastOptions, waitForGoal } from '../support/orchestration.js';
import { TaskOrchestrator } from '../../server/orchestrator/task-orchestrator.js';
import type { SessionRunner } from '../../server/orchestrator/session-runner.js';
import { ScriptedRunner } from '../support/scripted-runner.js';
import { gateWaitingAfter, implementCiDeploy } from '../support/bound-gates.js';

/**
 * CI verdicts with a GitHub token: real check_suite deliveries (from
 * @octokit/webhooks-examples) are nudges, and the real Octokit client asks a
 * local stub of GitHub's REST API for every check of the pull request's head.
 */

const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, any>[] }[];
const SECRET = 'webhook-secret-current-0123456789';
const TOKEN = 'ghp_stubtoken0123456789abcdefghijklmnop';
// The repository of the example payloads.
const REPO = 'Codertocat/Hello-World';

let database: TestDatabase;
let stub: GithubStub;
let app: ReturnType<typeof testApp>;
const orchestrators: TaskOrchestrator[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  stub = await new GithubStub(TOKEN).start();
  app = testApp(database.db, { ...testConfig({ auth: { githubWebhookSecret: SECRET } }), github: { apiUrl: stub.url, token: TOKEN } });
});
afterEach(async () => {
  await Promise.all(orchestrators.splice(0).map((o) => o.stop()));
  const open = await database.db.selectFrom('goals').select('id').where('status', 'in', ['pending', 'running']).execute();
  for (const goal of open) await applyGoalCommand(database.db, goal.id, 'cancel');
});
afterAll(async () => {
  await stub.stop();
  await database.destroy();
});

let ids = 700_000_000;
let deliveries = 0;
let branches = 0;
const sha = (n: number) => n.toString(16).padStart(40, 'c');

/** A real completed check_suite delivery about pull request `pr` at `head`, signed as GitHub signs it. */
function deliverCheckSuite(pr: number, head: string, conclusion: string) {
  const payload = structuredClone(definitions.find((d) => d.name === 'check_suite')!.examples.find((p) => p.action === 'completed' && p.check_suite.pull_requests.length > 0)!);
  payload.check_suite.id = ++ids;
  payload.check_suite.conclusion = conclusion;
  payload.check_suite.head_sha = head;
  payload.check_suite.pull_requests[0].number = pr;
  payload.check_suite.pull_requests[0].head.sha = head;
  return deliver('check_suite', payload);
}

/** Posts a payload as GitHub does: signed over the exact bytes, under a new delivery id. */
function deliver(event: string, payload: unknown) {
  const body = JSON.stringify(payload);
  return call(app, 'POST', '/api/webhooks/github', body, {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': `00000000-0000-4000-8000-${String(++deliveries).padStart(12, '0')}`,
    'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
  });
}

/** A real completed workflow_run delivery (of octo-org/octo-repo) about pull request `pr` at `head`. */
function deliverWorkflowRun(pr: number, head: string) {
  const payload = structuredClone(definitions.find((d) => d.name === 'workflow_run')!.examples.find((p) => p.action === 'completed' && p.workflow_run.pull_requests.length > 0)!);
  payload.workflow_run.id = ++ids;
  payload.workflow_run.head_sha = head;
  payload.workflow_run.pull_requests[0].number = pr;
  payload.workflow_run.pull_requests[0].head.sha = head;
  // The example lists a pull request of another repository of the network; make it this one's.
  payload.workflow_run.pull_requests[0].base.repo = { ...payload.workflow_run.pull_requests[0].base.repo, id: payload.repository.id, url: payload.repository.url };
  return deliver('workflow_run', payload);
}

/**
 * implement -> ci {pr from implement} -> deploy. Each run of implement pushes
 * its branch to the stub at a new head (the first run also opens the pull
 * request there) and reports it; `runs` records the error each run was handed.
 */
async function shepherd(gate: Record<string, unknown> = { type: 'gh_ci', pr: { from: 'implement' } }) {
  const branch = `feature-${++branches}`;
  const runs: { head: string; error: string | null }[] = [];
  let pr = 0;
  const runner = new ScriptedRunner((a) => {
    if (a.task.key !== 'implement') return {};
    const head = sha(++ids);
    runs.push({ head, error: a.task.error });
    stub.pushBranch(REPO, branch, head);
    if (pr === 0) pr = stub.openPull(REPO, branch);
    const pull_request = { url: `https://github.com/${REPO}/pull/${pr}`, head_sha: head, repo: REPO, number: pr };
    return { outcome: { kind: 'succeeded', result: { summary: 'pushed', pull_request } } };
  });
  const { goal, tasks } = await createGoal(database.db, implementCiDeploy(gate));
  const orchestrator = createOrchestrator(database.db, runner);
  orchestrators.push(orchestrator);
  await orchestrator.start();
  const ciId = byKey(tasks).ci!.id;
  return { goalId: goal.id, ciId, runs, pr: () => pr };
}

const row = (id: string) => database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const waitingAt = (id: string, reworkCount: number) => gateWaitingAfter(database.db, id, reworkCount);

describe('gh_ci with the checks API as the truth', () => {
  it('two workflows, one still running: the first green suite does not pass the gate; both done does', async () => {
    const { goalId, ciId, runs, pr } = await shepherd();
    await waitingAt(ciId, 0);
    const head = runs[0]!.head;
    stub.setCheckRun(REPO, head, { name: 'build', app: 'build-workflow', status: 'completed', conclusion: 'success' });
    stub.setCheckRun(REPO, head, { name: 'test', app: 'test-workflow', status: 'in_progress' });

    const first = await deliverCheckSuite(pr(), head, 'success');
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ signals: [], pending: [expect.stringContaining('test (in_progress)')] });
    expect((await row(ciId)).status).toBe('waiting');

    stub.setCheckRun(REPO, head, { name: 'test', app: 'test-workflow', status: 'completed', conclusion: 'success' });
    const second = await deliverCheckSuite(pr(), head, 'success');
    expect(second.json.signals).toEqual([expect.objectContaining({ matched: [ciId], duplicate: false })]);
    await waitForGoal(database.db, goalId, 'succeeded');
    // Every request carried the token, and asked about the head the pull request is at.
    expect(stub.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
    expect(stub.requests.some((r) => r.path.toLowerCase().startsWith(`/repos/${REPO.toLowerCase()}/commits/${head}/check-runs`))).toBe(true);
  });

  it('a failure names the failing check and its title in the rework prompt; the push re-binds the gate; a stale-sha success does not pass', async () => {
    const { goalId, ciId, runs, pr } = await shepherd();
    await waitingAt(ciId, 0);
    const first = runs[0]!.head;
    stub.setCheckRun(REPO, first, { name: 'lint', app: 'lint-workflow', status: 'completed', conclusion: 'success' });
    stub.setCheckRun(REPO, first, { name: 'typecheck', app: 'build-workflow', status: 'completed', conclusion: 'failure', title: '3 type errors in server/app.ts' });
    const failed = await deliverCheckSuite(pr(), first, 'failure');
    expect(failed.json.signals).toEqual([expect.objectContaining({ matched: [ciId] })]);

    const rebound = await waitingAt(ciId, 1);
    expect(runs).toHaveLength(2);
    expect(runs[1]!.error).toContain('typecheck (failure: 3 type errors in server/app.ts)');
    const second = runs[1]!.head;
    expect(rebound.gateBound).toMatchObject({ type: 'gh_ci', repo: REPO.toLowerCase(), pr: pr(), sha: second });

    // The old head goes green late (a re-run of its failed job): the pull request is at the new head now.
    stub.setCheckRun(REPO, first, { name: 'typecheck', app: 'build-workflow', status: 'completed', conclusion: 'success' });
    const stale = await deliverCheckSuite(pr(), first, 'success');
    expect(stale.json).toEqual({ signals: [], pending: [expect.stringContaining(second.slice(0, 7))] });
    expect((await row(ciId)).status).toBe('waiting');

    stub.setCheckRun(REPO, second, { name: 'lint', app: 'lint-workflow', status: 'completed', conclusion: 'success' });
    stub.setCheckRun(REPO, second, { name: 'typecheck', app: 'build-workflow', status: 'completed', conclusion: 'success' });
    const green = await deliverCheckSuite(pr(), second, 'success');
    expect(green.json.signals).toEqual([expect.objectContaining({ matched: [ciId] })]);
    await waitForGoal(database.db, goalId, 'succeeded');
  });
});

describe('gh_ci on a pull request named up front', () => {
  it('a workflow_run delivery is a nudge too: the gate passes once the checks API says every check of the head passed', async () => {
    const repo = 'octo-org/octo-repo';
    const head = sha(++ids);
    stub.pushBranch(repo, 'static-pr', head);
    const pr = stub.openPull(repo, 'static-pr');
    const { goal, tasks } = await createGoal(database.db, [{ key: 'ci', title: 'CI', kind: 'wait_for_signal', gate: { type: 'gh_ci', repo, pr } }]);
    const orchestrator = createOrchestrator(database.db, new ScriptedRunner());
    orchestrators.push(orchestrator);
    await orchestrator.start();
    await waitingAt(byKey(tasks).ci!.id, 0);

    stub.setCheckRun(repo, head, { name: 'build', status: 'in_progress' });
    expect((await deliverWorkflowRun(pr, head)).json.pending).toEqual([expect.stringContaining('build (in_progress)')]);
    stub.setCheckRun(repo, head, { name: 'build', status: 'completed', conclusion: 'success' });
    stub.setStatus(repo, head, { context: 'ci/legacy', state: 'success' });
    expect((await deliverWorkflowRun(pr, head)).json.signals).toEqual([expect.objectContaining({ matched: [byKey(tasks).ci!.id] })]);
    await waitForGoal(database.db, goal.id, 'succeeded');
  });
});

describe('gh_ci naming its required checks', () => {
  it('passes when the named checks passed, though another check failed', async () => {
    const { goalId, ciId, runs, pr } = await shepherd({ type: 'gh_ci', pr: { from: 'implement' }, checks: ['build'] });
    await waitingAt(ciId, 0);
    const head = runs[0]!.head;
    stub.setCheckRun(REPO, head, { name: 'build', status: 'completed', conclusion: 'success' });
    stub.setCheckRun(REPO, head, { name: 'experimental', app: 'nightly', status: 'completed', conclusion: 'failure', title: 'known flake' });
    const delivered = await deliverCheckSuite(pr(), head, 'failure');
    expect(delivered.json.signals).toEqual([expect.objectContaining({ matched: [ciId] })]);
    await waitForGoal(database.db, goalId, 'succeeded');
    expect(runs).toHaveLength(1);
  });
});

describe('pull requests Arbor opens', () => {
  it("fails the task when its pull request cannot be opened, and its run's record with it", async () => {
    // The run itself succeeds and is recorded so, as the session runner records it when the agent ends.
    const agent: SessionRunner = {
      async run(a) {
        const session = await createTestSession(database.db, { taskId: a.task.id, goalId: a.goal.id });
        await startTaskRun(database.db, { id: randomUUID(), taskId: a.task.id, sessionId: session.id, attempt: a.attempt, prompt: 'implement', baseSha: null });
        await endTaskRun(database.db, { taskId: a.task.id, attempt: a.attempt }, { outcome: 'succeeded', error: null });
        return { kind: 'succeeded', result: { summary: 'implemented', branch: 'arbor/no-token' } };
      },
    };
    const runner = withPullRequests(agent, null, createLogger('silent'), database.db);
    const { goal, tasks } = await createGoal(database.db, [{ key: 'implement', title: 'Implement', pull_request: { repo: REPO, base: 'main', title: 'Implement' } }]);
    const orchestrator = new TaskOrchestrator({ db: database.db, runner, logger: createLogger('silent') }, fastOptions());
    orchestrators.push(orchestrator);
    await orchestrator.start();
    await waitForGoal(database.db, goal.id, 'failed');

    const reason = 'the task asks Arbor to open a pull request, but ARBOR_GITHUB_TOKEN is not set';
    expect((await row(tasks[0]!.id)).error).toContain(reason);
    const runs = await listTaskRuns(database.db, tasks[0]!.id);
    expect(runs.map((r) => ({ attempt: r.attempt, outcome: r.outcome, error: r.error }))).toEqual([{ attempt: 1, outcome: 'failed', error: reason }]);
  });

  it('opens the pull request for the run\'s branch with the right head and base, binds the gate to it, and updates it after a rework', async () => {
    const branch = `arbor/task-${++branches}`;
    const heads: string[] = [];
    const errors: (string | null)[] = [];
    const agent = new ScriptedRunner((a) => {
      if (a.task.key !== 'implement') return {};
      // What the run leaves on the remote: its branch at a new head (the push is not Arbor's yet).
      const head = sha(++ids);
      heads.push(head);
      errors.push(a.task.error);
      stub.pushBranch(REPO, branch, head);
      return { outcome: { kind: 'succeeded', result: { summary: 'implemented', branch } } };
    });
    const runner = withPullRequests(agent, createGithubClient({ apiUrl: stub.url, token: TOKEN }), createLogger('silent'), database.db);
    const [implement, ...rest] = implementCiDeploy();
    const { goal, tasks } = await createGoal(database.db, [
      { ...implement!, pull_request: { repo: REPO, base: 'main', title: 'Add the toggle', body: 'Opened by Arbor', draft: true } },
      ...rest,
    ]);
    const orchestrator = new TaskOrchestrator({ db: database.db, runner, logger: createLogger('silent') }, fastOptions());
    orchestrators.push(orchestrator);
    await orchestrator.start();
    const t = byKey(tasks);

    const gate = await waitingAt(t.ci!.id, 0);
    const opened = stub.pulls(REPO).find((p) => p.head.ref === branch)!;
    expect(opened).toMatchObject({ title: 'Add the toggle', body: 'Opened by Arbor', draft: true, state: 'open', base: { ref: 'main' }, head: { ref: branch, sha: heads[0] } });
    const reported = (await row(t.implement!.id)).result as Record<string, any>;
    expect(reported.pull_request).toEqual({ url: `https://github.com/${REPO}/pull/${opened.number}`, head_sha: heads[0], repo: REPO, number: opened.number });
    expect(gate.gateBound).toMatchObject({ repo: REPO.toLowerCase(), pr: opened.number, sha: heads[0] });

    stub.setCheckRun(REPO, heads[0]!, { name: 'test', status: 'completed', conclusion: 'failure', title: '1 failing test' });
    await deliverCheckSuite(opened.number, heads[0]!, 'failure');
    const rebound = await waitingAt(t.ci!.id, 1);
    expect(errors[1]).toContain('test (failure: 1 failing test)');
    // The same pull request, updated rather than opened twice, now at the second head.
    expect(stub.pulls(REPO).filter((p) => p.head.ref === branch)).toHaveLength(1);
    expect(rebound.gateBound).toMatchObject({ pr: opened.number, sha: heads[1] });

    stub.setCheckRun(REPO, heads[1]!, { name: 'test', status: 'completed', conclusion: 'success' });
    await deliverCheckSuite(opened.number, heads[1]!, 'success');
    await waitForGoal(database.db, goal.id, 'succeeded');
  });

  it("with pull_request on the goal: one pull request for the goal branch, opened by the first agent task and updated by each after it", async () => {
    const goalBranch = `arbor/goal-${++branches}`;
    const heads: string[] = [];
    const agent = new ScriptedRunner((a) => {
      if (a.task.kind !== 'agent') return {};
      // A spawned run: its own branch, merged into the goal branch, which the remote now has at a new head.
      const head = sha(++ids);
      heads.push(head);
      stub.pushBranch(REPO, goalBranch, head);
      return { outcome: { kind: 'succeeded', result: { summary: a.task.key, branch: `${goalBranch}--${a.task.key}`, goal_branch: goalBranch } } };
    });
    const runner = withPullRequests(agent, createGithubClient({ apiUrl: stub.url, token: TOKEN }), createLogger('silent'), database.db);
    const { goal, tasks } = await createGoal(database.db, [
      { key: 'first', title: 'First' },
      { key: 'second', title: 'Second' },
    ]);
    await database.db
      .updateTable('goals')
      .set({ metadata: { pull_request: { repo: REPO, base: 'main', title: 'The whole goal' } } })
      .where('id', '=', goal.id)
      .execute();
    const orchestrator = new TaskOrchestrator({ db: database.db, runner, logger: createLogger('silent') }, fastOptions());
    orchestrators.push(orchestrator);
    await orchestrator.start();
    await waitForGoal(database.db, goal.id, 'succeeded');

    const opened = stub.pulls(REPO).filter((p) => p.head.ref === goalBranch);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ title: 'The whole goal', base: { ref: 'main' }, head: { ref: goalBranch, sha: heads[1] } });
    const t = byKey(tasks);
    for (const [key, head] of [['first', heads[0]], ['second', heads[1]]] as const) {
      const result = (await row(t[key]!.id)).result as Record<string, any>;
      expect(result.pull_request, key).toEqual({ url: `https://github.com/${REPO}/pull/${opened[0]!.number}`, head_sha: head, repo: REPO, number: opened[0]!.number });
    }
  });
});
