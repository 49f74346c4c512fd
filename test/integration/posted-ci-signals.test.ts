import { beforeAll, describe, expect, it } from 'vitest';
import { gateWaitingAfter } from '../support/bound-gates.js';
import { call, testApp, testConfig } from '../support/app.js';
import { useGithubCiHarness } from '../support/github-ci-harness.js';
import { byKey, createGoal, createOrchestrator, waitForGoal } from '../support/orchestration.js';
import { ScriptedRunner } from '../support/scripted-runner.js';

/**
 * A gh_ci verdict posted to POST /api/signals/resolve (a CI bridge) while
 * Arbor has a GitHub token: the checks API is asked about the pull request's
 * current head, and the posted verdict counts as one more check of that head
 * when it is about that head.
 */

const TOKEN = 'ghp_postedci0123456789abcdefghijklmnop';
const REPO = 'acme/bridge';

const harness = useGithubCiHarness(TOKEN);
let app: ReturnType<typeof testApp>;

beforeAll(() => {
  app = testApp(harness.database.db, { ...testConfig(), github: { apiUrl: harness.stub.url, token: TOKEN } });
});

let shas = 0;
const sha = () => (++shas).toString(16).padStart(40, 'b');

/** A pull request on the stub at a fresh head, and a goal whose only task is a gh_ci gate on it, waiting. */
async function gateOnPull() {
  const head = sha();
  const branch = `bridge-${shas}`;
  harness.stub.pushBranch(REPO, branch, head);
  const pr = harness.stub.openPull(REPO, branch);
  const { goal, tasks } = await createGoal(harness.database.db, [{ key: 'ci', title: 'CI', kind: 'wait_for_signal', gate: { type: 'gh_ci', repo: REPO, pr } }]);
  const orchestrator = createOrchestrator(harness.database.db, new ScriptedRunner());
  harness.started.push(orchestrator);
  await orchestrator.start();
  const ciId = byKey(tasks).ci!.id;
  await gateWaitingAfter(harness.database.db, ciId, 0);
  return { goalId: goal.id, ciId, pr, head };
}

const post = (body: Record<string, unknown>) => call(app, 'POST', '/api/signals/resolve', body);
const status = async (id: string) => (await harness.database.db.selectFrom('tasks').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

describe('gh_ci posted to the API with a GitHub token', () => {
  it('a green verdict for the head waits while another check of the head still runs: 202, nothing stored', async () => {
    const { ciId, pr, head } = await gateOnPull();
    harness.stub.setCheckRun(REPO, head, { name: 'e2e', status: 'in_progress' });
    const before = await harness.database.db.selectFrom('signals').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    const res = await post({ type: 'gh_ci', repo: REPO, pr, sha: head, status: 'pass', summary: 'jenkins green' });
    expect(res.status, res.text).toBe(202);
    expect(res.json).toEqual({ pending: expect.stringContaining('e2e (in_progress)') });
    expect(await status(ciId)).toBe('waiting');
    const after = await harness.database.db.selectFrom('signals').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  it('a green verdict for the head passes the gate when GitHub lists nothing else for it: CI only the bridge sees still counts', async () => {
    const { goalId, ciId, pr, head } = await gateOnPull();
    const res = await post({ type: 'gh_ci', pr_url: `https://github.com/${REPO}/pull/${pr}`, status: 'pass', summary: 'jenkins green' });
    expect(res.status, res.text).toBe(200);
    expect(res.json.matched).toEqual([ciId]);
    await waitForGoal(harness.database.db, goalId, 'succeeded');
    const stored = await harness.database.db.selectFrom('signals').selectAll().where('id', '=', res.json.signal_id).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ status: 'pass', attributes: { repo: REPO, pr, sha: head } });
  });

  it("a red verdict stays red though every check GitHub lists passed, and says what the bridge said", async () => {
    const { ciId, pr, head } = await gateOnPull();
    harness.stub.setCheckRun(REPO, head, { name: 'build', status: 'completed', conclusion: 'success' });
    const res = await post({ type: 'gh_ci', repo: REPO, pr, sha: head.slice(0, 7), status: 'fail', summary: 'jenkins: 2 integration tests failed' });
    expect(res.status, res.text).toBe(200);
    expect(res.json.matched).toEqual([ciId]);
    const stored = await harness.database.db.selectFrom('signals').selectAll().where('id', '=', res.json.signal_id).executeTakeFirstOrThrow();
    expect(stored.status).toBe('fail');
    expect(stored.summary).toContain('jenkins: 2 integration tests failed');
    // No agent work before the gate to send back: it fails, with the bridge's words in its error.
    const gate = await harness.database.db.selectFrom('tasks').select(['status', 'error']).where('id', '=', ciId).executeTakeFirstOrThrow();
    expect(gate.status).toBe('failed');
    expect(gate.error).toContain('jenkins: 2 integration tests failed');
  });

  it('a verdict about an older commit only nudges: the head is judged by its own checks', async () => {
    const { ciId, pr, head } = await gateOnPull();
    harness.stub.setCheckRun(REPO, head, { name: 'build', status: 'queued' });
    const stale = await post({ type: 'gh_ci', repo: REPO, pr, sha: sha(), status: 'pass' });
    expect(stale.status, stale.text).toBe(202);
    expect(await status(ciId)).toBe('waiting');
    // A stale red does not fail the head either.
    harness.stub.setCheckRun(REPO, head, { name: 'build', status: 'completed', conclusion: 'success' });
    const staleRed = await post({ type: 'gh_ci', repo: REPO, pr, sha: sha(), status: 'fail' });
    expect(staleRed.status, staleRed.text).toBe(200);
    expect(staleRed.json.matched).toEqual([ciId]);
    expect(await status(ciId)).toBe('succeeded');
  });

  it('GitHub not answering is a 502 and stores nothing; other types are stored as posted', async () => {
    const missing = await post({ type: 'gh_ci', repo: REPO, pr: 99_999, status: 'pass' });
    expect(missing.status, missing.text).toBe(502);
    expect(missing.json.error).toBe('the GitHub checks API did not answer');
    expect(missing.text).not.toContain(TOKEN);
    const bot = await post({ type: 'centaur_review', repo: REPO, pr: 99_999, status: 'pass' });
    expect(bot.status, bot.text).toBe(200);
  });
});
