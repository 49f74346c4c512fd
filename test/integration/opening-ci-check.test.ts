import { describe, expect, it } from 'vitest';
import { createGithubClient } from '../../server/github/github-client.js';
import { createLogger } from '../../server/logger.js';
import { OpeningCiCheck } from '../../server/signals/opening-ci-check.js';
import { gateWaitingAfter, implementCiDeploy } from '../support/bound-gates.js';
import { useGithubCiHarness } from '../support/github-ci-harness.js';
import type { StubCheckRun } from '../support/github-stub/github-stub.js';
import { byKey, createGoal, createOrchestrator, waitForGoal } from '../support/orchestration.js';
import { ScriptedRunner } from '../support/scripted-runner.js';

/**
 * A gh_ci gate that opens after its pull request's CI has finished: no
 * webhook comes any more, and with a token Arbor asks the checks API once
 * when the gate opens (again after a rework re-arms it). No webhook is
 * delivered in these tests: what decides the gates is that one look.
 */

const TOKEN = 'ghp_openingci0123456789abcdefghijklmnop';
const REPO = 'acme/late';

const harness = useGithubCiHarness(TOKEN);

let shas = 0;
let branches = 0;

/**
 * implement -> ci {pr from implement} -> deploy, with the opened-gate check
 * running. Each run of implement pushes a new head whose CI has already
 * finished as `checksOfRun(n)` says (n from 0), and reports the pull request.
 */
async function lateGate(checksOfRun: (run: number) => StubCheckRun[], sweeping = true) {
  const branch = `late-${++branches}`;
  const errors: (string | null)[] = [];
  let pr = 0;
  const runner = new ScriptedRunner((a) => {
    if (a.task.key !== 'implement') return {};
    const head = (++shas).toString(16).padStart(40, 'd');
    for (const run of checksOfRun(errors.length)) harness.stub.setCheckRun(REPO, head, run);
    errors.push(a.task.error);
    harness.stub.pushBranch(REPO, branch, head);
    if (pr === 0) pr = harness.stub.openPull(REPO, branch);
    return { outcome: { kind: 'succeeded', result: { summary: 'pushed', pull_request: { url: `https://github.com/${REPO}/pull/${pr}`, head_sha: head } } } };
  });
  const { goal, tasks } = await createGoal(harness.database.db, implementCiDeploy());
  const check = new OpeningCiCheck({ db: harness.database.db, github: createGithubClient({ apiUrl: harness.stub.url, token: TOKEN })!, logger: createLogger('silent') }, { intervalMs: 50 });
  const orchestrator = createOrchestrator(harness.database.db, runner);
  harness.started.push(orchestrator, check);
  await orchestrator.start();
  if (sweeping) check.start();
  return { goalId: goal.id, ciId: byKey(tasks).ci!.id, errors, check };
}

describe('a CI gate that opens after CI finished', () => {
  it('passes on the checks API once it opens, with no webhook', async () => {
    const { goalId, ciId } = await lateGate(() => [
      { name: 'build', app: 'build-workflow', status: 'completed', conclusion: 'success' },
      { name: 'test', app: 'test-workflow', status: 'completed', conclusion: 'success' },
    ]);
    await waitForGoal(harness.database.db, goalId, 'succeeded');
    const gate = await harness.database.db.selectFrom('tasks').select('result').where('id', '=', ciId).executeTakeFirstOrThrow();
    expect(gate.result).toMatchObject({ summary: expect.stringContaining('CI passed') });
  });

  it('a failure found when it opens sends the work back with the failing check; the re-armed gate looks again and passes', async () => {
    const { goalId, errors } = await lateGate((run) =>
      run === 0
        ? [{ name: 'lint', status: 'completed', conclusion: 'failure', title: '2 lint errors in app.ts' }]
        : [{ name: 'lint', status: 'completed', conclusion: 'success' }],
    );
    await waitForGoal(harness.database.db, goalId, 'succeeded');
    expect(errors).toHaveLength(2);
    expect(errors[1]).toContain('lint (failure: 2 lint errors in app.ts)');
  });

  it('asks GitHub about a gate once per opening, not on every sweep', async () => {
    const { ciId, check } = await lateGate(() => [{ name: 'slow', status: 'in_progress' }], false);
    await gateWaitingAfter(harness.database.db, ciId, 0);
    expect(await check.sweep()).toBe(1);
    expect(await check.sweep()).toBe(0);
  });
});
