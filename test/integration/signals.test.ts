import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../../server/domain/goal-tree.js';
import type { TaskOrchestrator } from '../../server/orchestrator/task-orchestrator.js';
import { resolveSignal, SignalError, type SignalInput } from '../../server/signals/resolver.js';
import { activateReadyTasks } from '../../server/store/dispatch.js';
import { applyGoalCommand } from '../../server/store/goals.js';
import { approveTask, rejectTask, signalGate } from '../../server/store/task-commands.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { byKey, createGoal, createOrchestrator, goalStatus, statuses, waitFor, waitForGoal } from '../support/orchestration.js';
import { ScriptedRunner } from '../support/scripted-runner.js';

/**
 * Gates and signals end to end on a real database: an orchestrator with a
 * scripted runner drives the agent tasks, signals go through the resolver as
 * the API would send them. Every test works on pull requests of its own, so
 * the signals of one never match the gates of another.
 */

let database: TestDatabase;
const orchestrators: TaskOrchestrator[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(orchestrators.splice(0).map((o) => o.stop()));
  // What a test leaves open (a gate still waiting) is not the next test's business.
  const open = await database.db.selectFrom('goals').select('id').where('status', 'in', ['pending', 'running']).execute();
  for (const goal of open) await applyGoalCommand(database.db, goal.id, 'cancel');
});
afterAll(() => database.destroy());

const REPO = 'acme/signals';
let prCounter = 100;
const nextPr = () => ++prCounter;

interface Seen {
  goalId: string;
  key: string;
  attempt: number;
  error: string | null;
}

/** A runner that records what each run was handed (its attempt, and the error/feedback in its prompt). */
function recordingRunner(hold: (key: string, seen: Seen[]) => boolean = () => false) {
  const seen: Seen[] = [];
  const runner = new ScriptedRunner((a) => {
    seen.push({ goalId: a.task.goalId, key: a.task.key, attempt: a.attempt, error: a.task.error });
    return hold(a.task.key, seen) ? { hold: true } : {};
  });
  return { runner, seen };
}

async function startWith(runner: ScriptedRunner) {
  const orchestrator = createOrchestrator(database.db, runner);
  orchestrators.push(orchestrator);
  await orchestrator.start();
  return orchestrator;
}

function resolve(type: string, attributes: SignalInput['attributes'], status: 'pass' | 'fail', extra: Partial<SignalInput> = {}) {
  return resolveSignal(database.db, { type, attributes, status, source: 'api', ...extra });
}

function taskRow(id: string) {
  return database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

function signalRow(id: string) {
  return database.db.selectFrom('signals').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function taskStatus(id: string) {
  return (await taskRow(id)).status;
}

/** How many times the event log shows this task moving into `to`. */
async function transitionsTo(taskId: string, to: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    SELECT count(*) AS n FROM events
    WHERE task_id = ${taskId} AND type = 'task.status_changed' AND data->>'to' = ${to}`.execute(database.db);
  return Number(rows[0]!.n);
}

async function signalCount(): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM signals`.execute(database.db);
  return Number(rows[0]!.n);
}

/** build -> gate -> deploy, in sequence. */
async function gateGoal(gate: Record<string, unknown>, options: { build?: Partial<TaskSpec> } = {}) {
  const { goal, tasks } = await createGoal(database.db, [
    { key: 'build', title: 'Build', instructions: 'Make the change', ...options.build },
    { key: 'ci', title: 'CI green', kind: 'wait_for_signal', gate },
    { key: 'deploy', title: 'Deploy', instructions: 'Ship it' },
  ]);
  const t = byKey(tasks);
  return { goalId: goal.id, buildId: t.build!.id, ciId: t.ci!.id, deployId: t.deploy!.id };
}

/** A goal of gates alone (no work before them), opened at once. */
async function openGates(gates: Record<string, Record<string, unknown>>) {
  const { goal, tasks } = await createGoal(
    database.db,
    Object.entries(gates).map(([key, gate]) => ({ key, title: key, kind: 'wait_for_signal' as const, gate })),
    { childrenMode: 'parallel' },
  );
  await activateReadyTasks(database.db);
  const ids = Object.fromEntries(tasks.map((t) => [t.key, t.id]));
  for (const id of Object.values(ids)) expect(await taskStatus(id)).toBe('waiting');
  return { goalId: goal.id, ids };
}

const runsOf = (seen: Seen[], goalId: string, key: string) => seen.filter((s) => s.goalId === goalId && s.key === key);

async function waitForStatus(taskId: string, status: string) {
  await waitFor(`task ${taskId} to be ${status}`, async () => (await taskStatus(taskId)) === status);
}

/**
 * Waits until a gate that was sent back is waiting again after `rework`
 * reworks — or has gone past that (failed, or sent back more often), so a
 * wrong outcome fails the assertion after this instead of timing out.
 */
async function waitForRearm(gateId: string, rework: number) {
  return waitFor(`gate ${gateId} to wait again after rework ${rework}`, async () => {
    const t = await taskRow(gateId);
    if (t.status === 'failed' || t.reworkCount > rework) return t;
    return t.status === 'waiting' && t.reworkCount === rework ? t : undefined;
  });
}

describe('resolving a waiting gate', () => {
  it('a passing signal succeeds the gate and the goal goes on', async () => {
    const pr = nextPr();
    const { runner, seen } = recordingRunner();
    const { goalId, ciId, deployId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr });
    await startWith(runner);
    await waitForStatus(ciId, 'waiting');
    expect(runsOf(seen, goalId, 'deploy')).toHaveLength(0);

    const result = await resolve('gh_ci', { repo: 'Acme/Signals', pr: String(pr) }, 'pass', { summary: 'all green', artifacts: { checks: ['lint', 'test'] } });
    expect(result).toEqual({ signalId: expect.any(String), matched: [ciId], duplicate: false });

    await waitForGoal(database.db, goalId, 'succeeded');
    expect(await statuses(database.db, goalId)).toEqual({ build: 'succeeded', ci: 'succeeded', deploy: 'succeeded' });
    expect(runsOf(seen, goalId, 'deploy')).toHaveLength(1);
    expect((await taskRow(ciId)).result).toEqual({ signal_ids: [result.signalId], summary: 'all green', artifacts: { checks: ['lint', 'test'] } });
    expect((await signalRow(result.signalId)).matchedTaskIds).toEqual([ciId]);
    expect(await transitionsTo(ciId, 'succeeded')).toBe(1);
    expect(await transitionsTo(deployId, 'running')).toBe(1);
  });

  it('a waiting gate holds no session slot', async () => {
    const pr = nextPr();
    const runner = new ScriptedRunner();
    const { ciId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr });
    const orchestrator = await startWith(runner);
    await waitForStatus(ciId, 'waiting');
    expect(orchestrator.runningTaskIds()).not.toContain(ciId);
    expect(runner.runs.map((r) => r.taskId)).not.toContain(ciId);
    expect((await taskRow(ciId)).leaseOwner).toBeNull();
  });

  it('a signal for another pull request or another commit does not match', async () => {
    const pr = nextPr();
    const sha = 'abcdef0123456789abcdef0123456789abcdef01';
    const { ids, goalId } = await openGates({ ci: { type: 'gh_ci', repo: REPO, pr, sha } });
    const ciId = ids.ci!;

    expect((await resolve('gh_ci', { repo: REPO, pr: pr + 1000, sha }, 'pass')).matched).toEqual([]);
    expect((await resolve('gh_ci', { repo: 'acme/other', pr, sha }, 'pass')).matched).toEqual([]);
    expect((await resolve('gh_ci', { repo: REPO, pr, sha: '1111111111111111111111111111111111111111' }, 'pass')).matched).toEqual([]);
    // Naming the pull request alone is not naming the commit the gate waits for.
    expect((await resolve('gh_ci', { repo: REPO, pr }, 'pass')).matched).toEqual([]);
    expect((await resolve('gh_review', { repo: REPO, pr, sha }, 'pass')).matched).toEqual([]);
    expect(await taskStatus(ciId)).toBe('waiting');

    const right = await resolve('gh_ci', { pr_url: `https://github.com/${REPO}/pull/${pr}`, sha: sha.toUpperCase() }, 'pass');
    expect(right.matched).toEqual([ciId]);
    expect(await taskStatus(ciId)).toBe('succeeded');
    expect(await goalStatus(database.db, goalId)).toBe('succeeded');
  });

  it('a gate naming an abbreviated sha is resolved by a signal carrying the full sha', async () => {
    const pr = nextPr();
    const full = `${pr}`.padStart(6, '0') + 'abcdef0123456789abcdef0123456789ab';
    const { ids } = await openGates({
      withPr: { type: 'gh_ci', repo: REPO, pr, sha: full.slice(0, 7) },
      shaOnly: { type: 'gh_ci', sha: full.slice(0, 9) },
    });
    const result = await resolve('gh_ci', { repo: REPO, pr, sha: full }, 'pass');
    expect(result.matched).toContain(ids.withPr);
    // leafMatches says a full sha matches the gate's prefix; the match-key index must find the gate too.
    expect([...result.matched].sort()).toEqual([ids.withPr!, ids.shaOnly!].sort());
    expect(await taskStatus(ids.shaOnly!)).toBe('succeeded');
  });

  it('one signal resolves every gate it matches, across goals and spellings of the pull request', async () => {
    const pr = nextPr();
    const a = await openGates({ ci: { type: 'gh_ci', repo: 'ACME/Signals', pr } });
    const b = await openGates({
      ci: { type: 'gh_ci', pr_url: `https://github.enterprise.example/acme/signals/pull/${pr}` },
      pinned: { type: 'gh_ci', repo: REPO, pr, sha: 'feedbeef01' },
      review: { type: 'gh_review', repo: REPO, pr },
    });

    const result = await resolve('gh_ci', { repo: REPO, pr, sha: 'FEEDBEEF01' }, 'pass');
    expect([...result.matched].sort()).toEqual([a.ids.ci!, b.ids.ci!, b.ids.pinned!].sort());
    expect(await taskStatus(a.ids.ci!)).toBe('succeeded');
    expect(await taskStatus(b.ids.ci!)).toBe('succeeded');
    expect(await taskStatus(b.ids.pinned!)).toBe('succeeded');
    expect(await taskStatus(b.ids.review!)).toBe('waiting');
    expect(await goalStatus(database.db, a.goalId)).toBe('succeeded');
    expect(await goalStatus(database.db, b.goalId)).toBe('running');
    expect([...(await signalRow(result.signalId)).matchedTaskIds].sort()).toEqual([...result.matched].sort());
  });

  it('gates of custom types and human approvals match on their own attributes', async () => {
    const pr = nextPr();
    const env = `staging-${pr}`;
    const { ids } = await openGates({ deploy: { type: 'deploy_ok', env, region: 'eu' }, person: { type: 'human_approval' } });

    expect((await resolve('deploy_ok', { env }, 'pass')).matched).toEqual([]);
    expect((await resolve('deploy_ok', { env, region: 'us' }, 'pass')).matched).toEqual([]);
    expect((await resolve('deploy_ok', { env, region: 'eu', build: 12 }, 'pass')).matched).toEqual([ids.deploy]);
    expect(await taskStatus(ids.deploy!)).toBe('succeeded');

    // A bare human_approval gate is bound to its own task.
    expect((await resolve('human_approval', { task_id: ids.deploy! }, 'pass')).matched).toEqual([]);
    expect((await resolve('human_approval', { task_id: ids.person! }, 'pass')).matched).toEqual([ids.person]);
    expect(await taskStatus(ids.person!)).toBe('succeeded');
  });

  it('refuses a signal that names nothing to match on, and stores nothing', async () => {
    const before = await signalCount();
    await expect(resolve('gh_ci', {}, 'pass')).rejects.toBeInstanceOf(SignalError);
    await expect(resolve('human_approval', { repo: REPO, pr: 1 }, 'pass')).rejects.toThrow(/task_id or a goal_id/);
    await expect(resolve('gh_ci', { pr_url: 'https://github.com/acme/signals/issues/3' }, 'pass')).rejects.toBeInstanceOf(SignalError);
    expect(await signalCount()).toBe(before);
  });
});

describe('idempotency', () => {
  it('the same idempotency_key applies once; the repeat answers duplicate with the first matches and changes nothing', async () => {
    const pr = nextPr();
    const { runner } = recordingRunner();
    const { goalId, ciId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr });
    await startWith(runner);
    await waitForStatus(ciId, 'waiting');

    const key = `ci-run-${pr}`;
    const first = await resolve('gh_ci', { repo: REPO, pr }, 'pass', { idempotencyKey: key, summary: 'first' });
    expect(first).toEqual({ signalId: expect.any(String), matched: [ciId], duplicate: false });
    await waitForGoal(database.db, goalId, 'succeeded');

    const signalsBefore = await signalCount();
    const eventsBefore = (await sql<{ n: string }>`SELECT count(*) AS n FROM events`.execute(database.db)).rows[0]!.n;
    const gateBefore = await taskRow(ciId);
    // A repeat with another verdict is still the same delivery: it decides nothing.
    const again = await resolve('gh_ci', { repo: REPO, pr }, 'fail', { idempotencyKey: key, summary: 'second' });
    expect(again).toEqual({ signalId: first.signalId, matched: [ciId], duplicate: true });
    expect(await signalCount()).toBe(signalsBefore);
    expect((await sql<{ n: string }>`SELECT count(*) AS n FROM events`.execute(database.db)).rows[0]!.n).toBe(eventsBefore);
    expect(await taskRow(ciId)).toEqual(gateBefore);
    expect(await signalRow(first.signalId)).toMatchObject({ status: 'pass', summary: 'first', idempotencyKey: key });
    expect(await transitionsTo(ciId, 'succeeded')).toBe(1);
  });
});

describe('signals that arrive before the gate opens', () => {
  it('an EARLY signal (its work still running) is applied when the gate opens', async () => {
    const pr = nextPr();
    const { runner } = recordingRunner((key) => key === 'build');
    const { goalId, buildId, ciId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr });
    await startWith(runner);
    await waitFor('build to be held', () => runner.heldTaskIds().includes(buildId));

    const early = await resolve('gh_ci', { repo: REPO, pr }, 'pass', { summary: 'green before the gate opened' });
    expect(early.matched).toEqual([]);
    expect(await taskStatus(ciId)).toBe('pending');

    runner.release(buildId);
    await waitForGoal(database.db, goalId, 'succeeded');
    const gate = await taskRow(ciId);
    expect(gate.result).toMatchObject({ signal_ids: [early.signalId], summary: 'green before the gate opened' });
    expect((await signalRow(early.signalId)).matchedTaskIds).toEqual([ciId]);
    expect(await transitionsTo(ciId, 'succeeded')).toBe(1);
    expect(await transitionsTo(ciId, 'waiting')).toBe(1);
  });

  it('an EARLY failing signal sends the work back as soon as the gate opens', async () => {
    const pr = nextPr();
    const { runner, seen } = recordingRunner((key, all) => key === 'build' && all.filter((s) => s.key === 'build').length === 1);
    const { goalId, buildId, ciId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr });
    await startWith(runner);
    await waitFor('build to be held', () => runner.heldTaskIds().includes(buildId));

    await resolve('gh_ci', { repo: REPO, pr }, 'fail', { summary: `early failure ${pr}` });
    runner.release(buildId);
    await waitFor('build to run again', () => runsOf(seen, goalId, 'build').length >= 2);
    expect(runsOf(seen, goalId, 'build')[1]!.error).toContain(`early failure ${pr}`);
  });

  it('a STALE signal (received before the gate\'s work began) is not applied', async () => {
    const pr = nextPr();
    const beforeGoal = await resolve('gh_ci', { repo: REPO, pr }, 'pass', { summary: 'an older run' });
    const { goalId, buildId, ciId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr });
    // The goal exists and the gate is armed by nothing yet: its work has not started.
    const beforeWork = await resolve('gh_ci', { pr_url: `https://github.com/${REPO}/pull/${pr}` }, 'pass', { summary: 'still older' });
    expect(beforeWork.matched).toEqual([]);

    const { runner } = recordingRunner();
    await startWith(runner);
    // Opening and deciding is one transaction: once waiting, the early signals were weighed and refused.
    await waitForStatus(ciId, 'waiting');
    const [gate, build] = [await taskRow(ciId), await taskRow(buildId)];
    expect(gate.gateArmedAt).toEqual(build.startedAt);
    expect((await signalRow(beforeGoal.signalId)).matchedTaskIds).toEqual([]);
    expect((await signalRow(beforeWork.signalId)).matchedTaskIds).toEqual([]);
    expect(await goalStatus(database.db, goalId)).toBe('running');

    const fresh = await resolve('gh_ci', { repo: REPO, pr }, 'pass', { summary: 'this run' });
    expect(fresh.matched).toEqual([ciId]);
    await waitForGoal(database.db, goalId, 'succeeded');
    expect((await taskRow(ciId)).result).toMatchObject({ signal_ids: [fresh.signalId] });
  });

  it('the newest matching signal since the work began decides, not an older one', async () => {
    const pr = nextPr();
    const { runner } = recordingRunner((key) => key === 'build');
    const { goalId, buildId, ciId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr });
    await startWith(runner);
    await waitFor('build to be held', () => runner.heldTaskIds().includes(buildId));
    await resolve('gh_ci', { repo: REPO, pr }, 'fail', { summary: 'flaky' });
    const rerun = await resolve('gh_ci', { repo: REPO, pr }, 'pass', { summary: 're-run green' });
    runner.release(buildId);
    await waitForGoal(database.db, goalId, 'succeeded');
    expect((await taskRow(ciId)).result).toMatchObject({ signal_ids: [rerun.signalId] });
    expect((await taskRow(ciId)).reworkCount).toBe(0);
  });

  it('a signal received a fraction of a millisecond before the gate was armed is not applied', async () => {
    // Timestamps are microseconds in Postgres; the armed time must not be
    // rounded down to a JavaScript millisecond before it is compared.
    const pr = nextPr();
    const { goal, tasks } = await createGoal(database.db, [{ key: 'ci', title: 'CI', kind: 'wait_for_signal', gate: { type: 'gh_ci', repo: REPO, pr } }]);
    const ciId = tasks[0]!.id;
    const stale = await resolve('gh_ci', { repo: REPO, pr }, 'pass', { summary: 'before the gate was armed' });
    // A gate without dependencies is armed at its creation: put the signal 0.5 ms before it, in the same millisecond.
    await sql`UPDATE tasks SET created_at = '2030-01-01T00:00:00.000900Z' WHERE id = ${ciId}`.execute(database.db);
    await sql`UPDATE signals SET received_at = '2030-01-01T00:00:00.000400Z' WHERE id = ${stale.signalId}`.execute(database.db);

    await activateReadyTasks(database.db);
    const { rows } = await sql<{ armed: boolean }>`
      SELECT gate_armed_at = '2030-01-01T00:00:00.000900Z'::timestamptz AS armed FROM tasks WHERE id = ${ciId}`.execute(database.db);
    expect(rows[0]!.armed, 'armed at its creation, 0.5 ms after the signal').toBe(true);
    expect((await taskRow(ciId)).status).toBe('waiting');
    expect(await goalStatus(database.db, goal.id)).toBe('running');
  });
});

describe('compound gates', () => {
  const both = (pr: number, combinator: 'all' | 'any') => ({
    [combinator]: [
      { type: 'gh_ci', repo: REPO, pr },
      { type: 'gh_review', repo: REPO, pr },
    ],
  });

  it('all: one pass keeps it waiting; the second pass succeeds it', async () => {
    const pr = nextPr();
    const { runner } = recordingRunner();
    const { goalId, ciId } = await gateGoal(both(pr, 'all'));
    await startWith(runner);
    await waitForStatus(ciId, 'waiting');

    const ci = await resolve('gh_ci', { repo: REPO, pr }, 'pass');
    expect(ci.matched).toEqual([ciId]);
    expect(await taskStatus(ciId)).toBe('waiting');
    const review = await resolve('gh_review', { repo: REPO, pr }, 'pass');
    expect(review.matched).toEqual([ciId]);
    await waitForGoal(database.db, goalId, 'succeeded');
    expect([...((await taskRow(ciId)).result as { signal_ids: string[] }).signal_ids].sort()).toEqual([ci.signalId, review.signalId].sort());
  });

  it('any: the first pass succeeds it', async () => {
    const pr = nextPr();
    const { runner } = recordingRunner();
    const { goalId, ciId } = await gateGoal(both(pr, 'any'));
    await startWith(runner);
    await waitForStatus(ciId, 'waiting');
    expect((await resolve('gh_review', { repo: REPO, pr }, 'fail')).matched).toEqual([ciId]);
    expect(await taskStatus(ciId)).toBe('waiting');
    expect((await resolve('gh_ci', { repo: REPO, pr }, 'pass')).matched).toEqual([ciId]);
    await waitForGoal(database.db, goalId, 'succeeded');
  });

  it('all: one failing part sends the work back with that failure; passes during the rework then succeed it', async () => {
    const pr = nextPr();
    const { runner, seen } = recordingRunner((key, all) => key === 'build' && all.filter((s) => s.key === 'build').length === 2);
    const { goalId, buildId, ciId } = await gateGoal(both(pr, 'all'));
    await startWith(runner);
    await waitForStatus(ciId, 'waiting');

    await resolve('gh_ci', { repo: REPO, pr }, 'pass', { summary: 'CI green' });
    const rejected = await resolve('gh_review', { repo: REPO, pr }, 'fail', { summary: `Needs tests (${pr})`, artifacts: { comments: ['add a test for the toggle'] } });
    expect(rejected.matched).toEqual([ciId]);
    await waitFor('build to run again', () => runner.heldTaskIds().includes(buildId));
    const rework = runsOf(seen, goalId, 'build')[1]!;
    expect(rework.error).toContain(`Needs tests (${pr})`);
    expect(rework.error).toContain('add a test for the toggle');
    expect(rework.error).not.toContain('CI green');
    expect(await taskStatus(ciId)).toBe('pending');

    // The work is being redone: both results of this run arrive before the gate opens again.
    await resolve('gh_ci', { repo: REPO, pr }, 'pass');
    await resolve('gh_review', { repo: REPO, pr }, 'pass');
    runner.release(buildId);
    await waitForGoal(database.db, goalId, 'succeeded');
    expect(await transitionsTo(ciId, 'succeeded')).toBe(1);
  });
});

describe('rework', () => {
  it('a failing signal re-runs the work with the failure in its prompt; the gate re-arms; a later pass succeeds it', async () => {
    const pr = nextPr();
    const { runner, seen } = recordingRunner();
    const { goalId, buildId, ciId, deployId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr });
    await startWith(runner);
    await waitForStatus(ciId, 'waiting');
    const armedFirst = (await taskRow(ciId)).gateArmedAt!;

    const failure = await resolve('gh_ci', { repo: REPO, pr }, 'fail', {
      summary: `lint failed: 3 errors (${pr})`,
      artifacts: { failing_checks: ['eslint'] },
    });
    expect(failure.matched).toEqual([ciId]);

    const gate = await waitForRearm(ciId, 1);
    // Sent back once, the work ran once more, and the gate waits for a result of that run.
    expect({ status: gate.status, reworkCount: gate.reworkCount }).toEqual({ status: 'waiting', reworkCount: 1 });
    const builds = runsOf(seen, goalId, 'build');
    expect(builds).toHaveLength(2);
    expect(builds[1]!.attempt).toBe(builds[0]!.attempt + 1);
    expect(builds[0]!.error).toBeNull();
    expect(builds[1]!.error).toContain(`lint failed: 3 errors (${pr})`);
    expect(builds[1]!.error).toContain('eslint');
    expect(gate.gateArmedAt!.getTime()).toBeGreaterThan(armedFirst.getTime());
    expect(await taskStatus(buildId)).toBe('succeeded');
    expect(runsOf(seen, goalId, 'deploy')).toHaveLength(0);

    const pass = await resolve('gh_ci', { repo: REPO, pr }, 'pass');
    expect(pass.matched).toEqual([ciId]);
    await waitForGoal(database.db, goalId, 'succeeded');
    expect(runsOf(seen, goalId, 'deploy')).toHaveLength(1);
    expect(await transitionsTo(ciId, 'succeeded')).toBe(1);
    expect(await transitionsTo(deployId, 'succeeded')).toBe(1);
  });

  it('the gate is re-armed after the failing signal that sent the work back, so that signal is not weighed again', async () => {
    const pr = nextPr();
    // The rework run is held: nothing moves the gate while we look at it.
    const { runner, seen } = recordingRunner((key, all) => key === 'build' && all.filter((s) => s.key === 'build').length === 2);
    const { goalId, buildId, ciId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr });
    await startWith(runner);
    await waitForStatus(ciId, 'waiting');
    const failure = await resolve('gh_ci', { repo: REPO, pr }, 'fail', { summary: 'red' });
    await waitFor('the rework run', () => runner.heldTaskIds().includes(buildId));
    expect(runsOf(seen, goalId, 'build')).toHaveLength(2);

    const { rows } = await sql<{ armed: string; received: string; rearmedAfter: boolean }>`
      SELECT t.gate_armed_at::text AS armed, s.received_at::text AS received, t.gate_armed_at > s.received_at AS rearmed_after
      FROM tasks t, signals s WHERE t.id = ${ciId} AND s.id = ${failure.signalId}`.execute(database.db);
    const { armed, received, rearmedAfter } = rows[0]!;
    expect(rearmedAfter, `gate re-armed at ${armed}; the failing signal was received at ${received}`).toBe(true);
  });

  it('when rework runs out the gate fails, and the goal with it', async () => {
    const pr = nextPr();
    const { runner, seen } = recordingRunner();
    const { goalId, ciId, deployId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr, rework: 1 });
    await startWith(runner);
    await waitForStatus(ciId, 'waiting');

    await resolve('gh_ci', { repo: REPO, pr }, 'fail', { summary: 'first failure' });
    const gate = await waitForRearm(ciId, 1);
    expect({ status: gate.status, reworkCount: gate.reworkCount }).toEqual({ status: 'waiting', reworkCount: 1 });
    expect(runsOf(seen, goalId, 'build')).toHaveLength(2);

    const second = await resolve('gh_ci', { repo: REPO, pr }, 'fail', { summary: `second failure ${pr}` });
    expect(second.matched).toEqual([ciId]);
    await waitForGoal(database.db, goalId, 'failed');
    const failed = await taskRow(ciId);
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain(`second failure ${pr}`);
    expect(failed.error).toMatch(/no rework left/);
    expect(await taskStatus(deployId)).toBe('skipped');
    expect(runsOf(seen, goalId, 'build')).toHaveLength(2);
    expect(runsOf(seen, goalId, 'deploy')).toHaveLength(0);
  });

  it('rework: 0 fails the gate on the first failing signal', async () => {
    const pr = nextPr();
    const { runner, seen } = recordingRunner();
    const { goalId, ciId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr, rework: 0 });
    await startWith(runner);
    await waitForStatus(ciId, 'waiting');
    await resolve('gh_ci', { repo: REPO, pr }, 'fail', { summary: 'red' });
    await waitForGoal(database.db, goalId, 'failed');
    expect(await taskStatus(ciId)).toBe('failed');
    expect(runsOf(seen, goalId, 'build')).toHaveLength(1);
  });
});

describe('gate timeouts', () => {
  it('on_timeout fail: the gate fails when no passing signal came in time', async () => {
    const pr = nextPr();
    const { runner, seen } = recordingRunner();
    const { goalId, ciId, deployId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr, timeout_s: 1, on_timeout: 'fail' });
    await startWith(runner);
    await waitForGoal(database.db, goalId, 'failed');
    const gate = await taskRow(ciId);
    expect(gate.status).toBe('failed');
    expect(gate.error).toMatch(/timed out/);
    expect(await taskStatus(deployId)).toBe('skipped');
    expect(runsOf(seen, goalId, 'deploy')).toHaveLength(0);
  });

  it('on_timeout pass: the gate lets the tree go on', async () => {
    const pr = nextPr();
    const { runner, seen } = recordingRunner();
    const { goalId, ciId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr, timeout_s: 1, on_timeout: 'pass' });
    await startWith(runner);
    await waitForGoal(database.db, goalId, 'succeeded');
    expect((await taskRow(ciId)).result).toMatchObject({ timed_out: true });
    expect(runsOf(seen, goalId, 'deploy')).toHaveLength(1);
    // A late signal finds nothing to decide.
    expect((await resolve('gh_ci', { repo: REPO, pr }, 'fail')).matched).toEqual([]);
    expect(await taskStatus(ciId)).toBe('succeeded');
  });
});

describe('direct and human decisions', () => {
  it('reject on a human_review task re-runs the work with the feedback; approve then lets the tree go on', async () => {
    const { runner, seen } = recordingRunner();
    const { goal, tasks } = await createGoal(database.db, [
      { key: 'build', title: 'Build', instructions: 'Make the change' },
      { key: 'review', title: 'Sign-off', kind: 'human_review' },
      { key: 'deploy', title: 'Deploy' },
    ]);
    const t = byKey(tasks);
    await startWith(runner);
    await waitForStatus(t.review!.id, 'review');

    expect(await approveTask(database.db, t.deploy!.id, null)).toMatchObject({ outcome: 'conflict' });
    const rejected = await rejectTask(database.db, t.review!.id, 'Please add tests for the toggle');
    expect(rejected.outcome).toBe('applied');
    await waitFor('the review to come back', async () => {
      const row = await taskRow(t.review!.id);
      return row.status === 'review' && row.reworkCount === 1;
    });
    const builds = runsOf(seen, goal.id, 'build');
    expect(builds).toHaveLength(2);
    expect(builds[1]!.error).toContain('Please add tests for the toggle');
    expect(runsOf(seen, goal.id, 'deploy')).toHaveLength(0);

    const approved = await approveTask(database.db, t.review!.id, 'LGTM');
    expect(approved.outcome).toBe('applied');
    await waitForGoal(database.db, goal.id, 'succeeded');
    expect((await taskRow(t.review!.id)).result).toMatchObject({ approved: true, comment: 'LGTM' });
    expect(runsOf(seen, goal.id, 'deploy')).toHaveLength(1);
    expect(await approveTask(database.db, t.review!.id, null)).toMatchObject({ outcome: 'conflict' });
  });

  it('reject on a review behind a passed gate sends the work back and re-arms the gate: the old pass does not count', async () => {
    const pr = nextPr();
    const { runner, seen } = recordingRunner();
    const { goal, tasks } = await createGoal(database.db, [
      { key: 'build', title: 'Build' },
      { key: 'ci', title: 'CI', kind: 'wait_for_signal', gate: { type: 'gh_ci', repo: REPO, pr } },
      { key: 'review', title: 'Sign-off', kind: 'human_review' },
      { key: 'deploy', title: 'Deploy' },
    ]);
    const t = byKey(tasks);
    await startWith(runner);
    await waitForStatus(t.ci!.id, 'waiting');
    const firstPass = await resolve('gh_ci', { repo: REPO, pr }, 'pass');
    expect(firstPass.matched).toEqual([t.ci!.id]);
    await waitForStatus(t.review!.id, 'review');

    expect((await rejectTask(database.db, t.review!.id, `Wrong colours (${pr})`)).outcome).toBe('applied');
    await waitFor('the gate to wait again', async () => {
      const row = await taskRow(t.ci!.id);
      return row.status === 'waiting' || row.status === 'succeeded' ? row : undefined;
    });
    expect(await taskStatus(t.ci!.id)).toBe('waiting');
    expect(runsOf(seen, goal.id, 'build')).toHaveLength(2);
    expect(runsOf(seen, goal.id, 'build')[1]!.error).toContain(`Wrong colours (${pr})`);

    const secondPass = await resolve('gh_ci', { repo: REPO, pr }, 'pass');
    expect(secondPass.matched).toEqual([t.ci!.id]);
    await waitForStatus(t.review!.id, 'review');
    expect((await approveTask(database.db, t.review!.id, null)).outcome).toBe('applied');
    await waitForGoal(database.db, goal.id, 'succeeded');
    expect((await taskRow(t.ci!.id)).result).toMatchObject({ signal_ids: [secondPass.signalId] });
    expect(runsOf(seen, goal.id, 'deploy')).toHaveLength(1);
  });

  it('a requires_approval agent task goes to review after success; reject re-runs it, approve releases its dependents', async () => {
    const { runner, seen } = recordingRunner();
    const { goal, tasks } = await createGoal(database.db, [
      { key: 'build', title: 'Build', instructions: 'Make the change', requires_approval: true },
      { key: 'deploy', title: 'Deploy' },
    ]);
    const t = byKey(tasks);
    await startWith(runner);
    await waitForStatus(t.build!.id, 'review');
    expect(await taskStatus(t.deploy!.id)).toBe('pending');

    expect((await rejectTask(database.db, t.build!.id, 'Rename the flag to dark_mode')).outcome).toBe('applied');
    await waitFor('build to be back in review', async () => {
      const row = await taskRow(t.build!.id);
      return row.status === 'review' && row.reworkCount === 1;
    });
    const builds = runsOf(seen, goal.id, 'build');
    expect(builds).toHaveLength(2);
    expect(builds[1]!.error).toContain('Rename the flag to dark_mode');
    expect(runsOf(seen, goal.id, 'deploy')).toHaveLength(0);

    expect((await approveTask(database.db, t.build!.id, null)).outcome).toBe('applied');
    await waitForGoal(database.db, goal.id, 'succeeded');
    expect(runsOf(seen, goal.id, 'deploy')).toHaveLength(1);
    expect(runsOf(seen, goal.id, 'build')).toHaveLength(2);
  });

  it('POST /signal decides one waiting gate and is a conflict for anything not waiting', async () => {
    const pr = nextPr();
    const { runner, seen } = recordingRunner((key, all) => key === 'build' && all.filter((s) => s.key === 'build').length === 1);
    const { goalId, buildId, ciId } = await gateGoal({ type: 'gh_ci', repo: REPO, pr });
    await startWith(runner);
    await waitFor('build to be held', () => runner.heldTaskIds().includes(buildId));

    expect(await signalGate(database.db, ciId, { status: 'pass' })).toMatchObject({ outcome: 'conflict' });
    expect(await signalGate(database.db, buildId, { status: 'pass' })).toMatchObject({ outcome: 'conflict' });
    expect(await signalGate(database.db, '00000000-0000-4000-8000-000000000000', { status: 'pass' })).toEqual({ outcome: 'not_found' });
    expect(await taskStatus(ciId)).toBe('pending');

    runner.release(buildId);
    await waitForStatus(ciId, 'waiting');
    // A failure sends the work back like a failing signal does.
    expect((await signalGate(database.db, ciId, { status: 'fail', summary: `direct failure ${pr}` })).outcome).toBe('applied');
    const gate = await waitForRearm(ciId, 1);
    expect(gate.status).toBe('waiting');
    expect(runsOf(seen, goalId, 'build')[1]!.error).toContain(`direct failure ${pr}`);

    const passed = await signalGate(database.db, ciId, { status: 'pass', summary: 'ok by hand' });
    expect(passed).toMatchObject({ outcome: 'applied', task: { status: 'succeeded' } });
    await waitForGoal(database.db, goalId, 'succeeded');
    expect(await signalGate(database.db, ciId, { status: 'pass' })).toMatchObject({ outcome: 'conflict' });
    expect(await transitionsTo(ciId, 'succeeded')).toBe(1);
  });
});
