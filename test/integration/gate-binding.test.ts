import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TaskOrchestrator } from '../../server/orchestrator/task-orchestrator.js';
import { resolveSignal } from '../../server/signals/resolver.js';
import { applyGoalCommand } from '../../server/store/goals.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { byKey, createGoal, createOrchestrator, waitForGoal } from '../support/orchestration.js';
import { ScriptedRunner } from '../support/scripted-runner.js';
import { gateWaitingAfter, implementCiDeploy } from '../support/bound-gates.js';

/**
 * Gates that take their pull request {from} the task before them, on a real
 * database: bound when they open, re-bound when a rework reports a new head,
 * and only CI of the current head decides them.
 */

let database: TestDatabase;
const orchestrators: TaskOrchestrator[] = [];
beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(orchestrators.splice(0).map((o) => o.stop()));
  const open = await database.db.selectFrom('goals').select('id').where('status', 'in', ['pending', 'running']).execute();
  for (const goal of open) await applyGoalCommand(database.db, goal.id, 'cancel');
});
afterAll(() => database.destroy());

const REPO = 'acme/bound';
const sha = (n: number) => String(n).repeat(40).slice(0, 40);

/** implement (reports PR `pr` at head sha(attempt)) -> ci {pr from implement} -> deploy. */
async function boundGoal(pr: number | null, gate: Record<string, unknown> = { type: 'gh_ci', pr: { from: 'implement' } }) {
  const errors: (string | null)[] = [];
  const runner = new ScriptedRunner((a) => {
    if (a.task.key !== 'implement') return {};
    errors.push(a.task.error);
    if (pr === null) return { outcome: { kind: 'succeeded', result: { summary: 'did it, opened nothing' } } };
    const pull_request = { url: `https://github.com/${REPO}/pull/${pr}`, head_sha: sha(errors.length), repo: REPO, number: pr };
    return { outcome: { kind: 'succeeded', result: { summary: 'pushed', pull_request } } };
  });
  const { goal, tasks } = await createGoal(database.db, implementCiDeploy(gate));
  const orchestrator = createOrchestrator(database.db, runner);
  orchestrators.push(orchestrator);
  await orchestrator.start();
  const t = byKey(tasks);
  return { goalId: goal.id, ciId: t.ci!.id, errors };
}

const row = (id: string) => database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const waitingAt = (id: string, reworkCount: number) => gateWaitingAfter(database.db, id, reworkCount);
const ci = (pr: number, head: string, status: 'pass' | 'fail', summary?: string) =>
  resolveSignal(database.db, { type: 'gh_ci', attributes: { repo: REPO, pr, sha: head }, status, summary, source: 'api' });

describe('a gate bound at run time', () => {
  it('binds to the reported head; a stale-sha success does not pass it; a rework that pushes again re-binds it', async () => {
    const { goalId, ciId, errors } = await boundGoal(501);
    const first = await waitingAt(ciId, 0);
    expect(first.gateBound).toMatchObject({ type: 'gh_ci', repo: REPO, pr: 501, sha: sha(1) });

    // CI for a commit the pull request has left behind: no match.
    expect((await ci(501, sha(9), 'pass')).matched).toEqual([]);
    expect((await row(ciId)).status).toBe('waiting');

    expect((await ci(501, sha(1), 'fail', 'CI failed: lint')).matched).toEqual([ciId]);
    const second = await waitingAt(ciId, 1);
    expect(errors[1]).toContain('CI failed: lint');
    expect(second.gateBound).toMatchObject({ sha: sha(2) });

    // Green for the first head, after the rework pushed a second: stale.
    expect((await ci(501, sha(1), 'pass')).matched).toEqual([]);
    expect((await row(ciId)).status).toBe('waiting');
    expect((await ci(501, sha(2), 'pass')).matched).toEqual([ciId]);
    await waitForGoal(database.db, goalId, 'succeeded');
  });

  it('fails, saying so, when the task it takes the pull request from reported none', async () => {
    const { goalId, ciId } = await boundGoal(null);
    await waitForGoal(database.db, goalId, 'failed');
    const gate = await row(ciId);
    expect(gate.status).toBe('failed');
    expect(gate.error).toBe('the gate takes its pull request from task "implement", which reported no pull request');
  });
});
