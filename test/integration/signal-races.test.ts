import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gateMatchKeys, normalizeGate } from '../../server/domain/gate.js';
import { resolveSignal, type ResolveResult, type SignalInput } from '../../server/signals/resolver.js';
import { completeTasks } from '../../server/store/completion.js';
import { activateReadyTasks, claimReadyTasks } from '../../server/store/dispatch.js';
import { applyGoalCommand } from '../../server/store/goals.js';
import { passHold, signalGate } from '../../server/store/task-commands.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { byKey, createGoal, goalStatus, waitFor } from '../support/orchestration.js';

/**
 * Deterministic races between a signal arriving and its gate opening.
 *
 * No sleeps and no luck: a side connection holds the lock one side needs,
 * both sides are started, `pg_stat_activity` shows them provably blocked on
 * it (wait_event_type = 'Lock') in the order we started them, and only then
 * is the lock released. Postgres grants a released lock to its waiters in
 * queue order, so each test runs exactly the interleaving it names. Whatever
 * the order, the signal is never lost and never applied twice.
 */

/** First key of the resolver's match-key advisory locks (server/store/signals.ts). */
const MATCH_KEY_LOCK_CLASS = 7_264_102;
const OWNER = 'race-test';
const POLICY = { baseDelayMs: 20, maxDelayMs: 200 };
const REPO = 'acme/race';

let database: TestDatabase;
let observer: pg.Client;
let prCounter = 500;
const nextPr = () => ++prCounter;

beforeAll(async () => {
  database = await createTestDatabase();
  observer = new pg.Client({ connectionString: database.url });
  await observer.connect();
});
// Each test drives its own goal by hand; whatever one leaves open must not be claimed by the next.
afterEach(async () => {
  const open = await database.db.selectFrom('goals').select('id').where('status', 'in', ['pending', 'running']).execute();
  for (const goal of open) await applyGoalCommand(database.db, goal.id, 'cancel');
});
afterAll(async () => {
  await observer.end();
  await database.destroy();
});

function resolve(type: string, attributes: SignalInput['attributes'], status: 'pass' | 'fail', extra: Partial<SignalInput> = {}) {
  return resolveSignal(database.db, { type, attributes, status, source: 'api', ...extra });
}

/** The index key a gate is filed under (what its opening and a matching resolve both lock). */
function keyOf(gate: Record<string, unknown>): string {
  const parsed = normalizeGate(gate);
  if (!parsed.ok) throw new Error(parsed.error);
  const keys = gateMatchKeys(parsed.gate.condition);
  expect(keys).toHaveLength(1);
  return keys[0]!;
}

interface SideLock {
  release(): Promise<void>;
}

/** A side connection holding the match-key advisory lock (a session lock; the resolver's xact locks conflict with it). */
async function holdMatchKey(key: string): Promise<SideLock> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [MATCH_KEY_LOCK_CLASS, key]);
  return {
    release: async () => {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [MATCH_KEY_LOCK_CLASS, key]);
      await client.end();
    },
  };
}

/** A side connection holding a task's row lock inside an open transaction. */
async function holdTaskRow(taskId: string): Promise<SideLock> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('BEGIN');
  const { rowCount } = await client.query('SELECT id FROM tasks WHERE id = $1 FOR UPDATE', [taskId]);
  expect(rowCount).toBe(1);
  return {
    release: async () => {
      await client.query('COMMIT');
      await client.end();
    },
  };
}

interface Blocked {
  pid: number;
  wait_event: string;
  query: string;
}

/** Backends of this database waiting for a lock, oldest wait first. */
async function blockedBackends(): Promise<Blocked[]> {
  const { rows } = await observer.query<Blocked>(
    `SELECT pid, wait_event, query FROM pg_stat_activity
     WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
     ORDER BY state_change`,
  );
  return rows;
}

/**
 * A resolve is one statement (arbor_signal_arrive) that takes the match-key
 * locks, stores the signal and locks the gate rows in that order: where it
 * waits shows in the lock it waits for.
 */
function expectWaitingOnMatchKey(blocked: Blocked): void {
  expect(blocked.query).toMatch(/arbor_signal_arrive|pg_advisory_xact_lock/);
  expect(blocked.wait_event).toBe('advisory');
}

/** ... and on a gate row held by another transaction (a row lock waits for its holder's transaction id). */
function expectWaitingOnGateRow(blocked: Blocked): void {
  expect(blocked.query).toMatch(/arbor_signal_arrive/);
  expect(blocked.wait_event).toMatch(/^(transactionid|tuple)$/);
}

async function blockingPids(pid: number): Promise<number[]> {
  const { rows } = await observer.query<{ pids: number[] }>('SELECT pg_blocking_pids($1) AS pids', [pid]);
  return rows[0]!.pids;
}

/** Waits until `n` backends are blocked on locks; returns them. */
function waitUntilBlocked(n: number, what: string): Promise<Blocked[]> {
  return waitFor(`${what} (${n} backend(s) blocked on a lock)`, async () => {
    const rows = await blockedBackends();
    return rows.length >= n ? rows : undefined;
  });
}

/** Starts `work` and waits until one more backend than before is blocked on a lock. */
async function startBlocked<T>(work: () => Promise<T>, what: string): Promise<{ done: Promise<T>; blocked: Blocked }> {
  const before = (await blockedBackends()).map((b) => b.pid);
  const done = work();
  // Surface a failure of `work` at the await below, not as an unhandled rejection while we wait.
  done.catch(() => {});
  const rows = await waitUntilBlocked(before.length + 1, what);
  const blocked = rows.find((r) => !before.includes(r.pid))!;
  return { done, blocked };
}

function taskRow(id: string) {
  return database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

function signalRow(id: string) {
  return database.db.selectFrom('signals').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function transitionsTo(taskId: string, to: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    SELECT count(*) AS n FROM events
    WHERE task_id = ${taskId} AND type = 'task.status_changed' AND data->>'to' = ${to}`.execute(database.db);
  return Number(rows[0]!.n);
}

/** Claims and finishes one agent task, as an orchestrator would; it must be the only ready one. */
async function runAgentTask(taskId: string): Promise<void> {
  const { claimed } = await claimReadyTasks(database.db, { owner: OWNER, capacity: 50, spawnBudget: 50, leaseMs: 60_000 });
  expect(claimed.map((c) => c.task.id)).toEqual([taskId]);
  const report = await completeTasks(database.db, OWNER, [{ taskId, attempt: claimed[0]!.task.attempt, outcome: { kind: 'succeeded' } }], POLICY);
  expect(report.applied).toEqual([taskId]);
}

/**
 * build -> ci (the gate) -> deploy, with build just finished: the gate is
 * ready and opens on the next activation. A signal sent from now on is after
 * the gate's work began, so it is for this run.
 */
async function readyGate(gate: Record<string, unknown>) {
  const { goal, tasks } = await createGoal(database.db, [
    { key: 'build', title: 'Build' },
    { key: 'ci', title: 'CI', kind: 'wait_for_signal', gate },
    { key: 'deploy', title: 'Deploy' },
  ]);
  const t = byKey(tasks);
  await runAgentTask(t.build!.id);
  const ci = await taskRow(t.ci!.id);
  expect({ status: ci.status, unmetDeps: ci.unmetDeps }).toEqual({ status: 'pending', unmetDeps: 0 });
  return { goalId: goal.id, buildId: t.build!.id, ciId: t.ci!.id, deployId: t.deploy!.id };
}

/** The gate succeeded exactly once on this signal, and the goal went on to the end. */
async function expectAppliedOnce(ids: { goalId: string; ciId: string; deployId: string }, signalId: string) {
  const gate = await taskRow(ids.ciId);
  expect(gate.status).toBe('succeeded');
  expect(gate.result).toMatchObject({ signal_ids: [signalId] });
  expect(await transitionsTo(ids.ciId, 'succeeded')).toBe(1);
  expect(await transitionsTo(ids.ciId, 'waiting')).toBe(1);
  expect((await signalRow(signalId)).matchedTaskIds).toContain(ids.ciId);
  // The goal progressed: what waited on the gate is ready, runs, and finishes the goal.
  expect(await taskRow(ids.deployId)).toMatchObject({ status: 'pending', unmetDeps: 0 });
  await runAgentTask(ids.deployId);
  expect(await goalStatus(database.db, ids.goalId)).toBe('succeeded');
}

describe('a signal and its gate opening, racing', () => {
  it('signal first, the opening blocked behind it: the opening applies the stored signal', async () => {
    const pr = nextPr();
    const gate = { type: 'gh_ci', repo: REPO, pr };
    const ids = await readyGate(gate);
    const side = await holdMatchKey(keyOf(gate));
    let resolving: Promise<ResolveResult>;
    let opening: Promise<unknown>;
    try {
      const r = await startBlocked(() => resolve('gh_ci', { repo: REPO, pr }, 'pass', { summary: 'green' }), 'the resolve');
      expectWaitingOnMatchKey(r.blocked);
      const o = await startBlocked(() => activateReadyTasks(database.db), 'the gate opening');
      expect(o.blocked.query).toMatch(/pg_advisory_xact_lock/);
      resolving = r.done;
      opening = o.done;
      // Neither side has committed anything yet.
      expect((await taskRow(ids.ciId)).status).toBe('pending');
    } finally {
      await side.release();
    }
    const result = await resolving;
    expect(((await opening) as { count: number }).count).toBeGreaterThanOrEqual(1);
    // The resolve went first: the gate was not waiting yet, so it matched nothing itself...
    expect(result).toMatchObject({ matched: [], duplicate: false });
    // ...and the opening found the stored signal and applied it.
    await expectAppliedOnce(ids, result.signalId);
  });

  it('opening first, the signal blocked behind it: the signal finds the gate waiting and applies', async () => {
    const pr = nextPr();
    const gate = { type: 'gh_ci', repo: REPO, pr };
    const ids = await readyGate(gate);
    const side = await holdMatchKey(keyOf(gate));
    let resolving: Promise<ResolveResult>;
    let opening: Promise<unknown>;
    try {
      const o = await startBlocked(() => activateReadyTasks(database.db), 'the gate opening');
      expect(o.blocked.query).toMatch(/pg_advisory_xact_lock/);
      const r = await startBlocked(() => resolve('gh_ci', { pr_url: `https://github.com/${REPO}/pull/${pr}` }, 'pass'), 'the resolve');
      expectWaitingOnMatchKey(r.blocked);
      opening = o.done;
      resolving = r.done;
    } finally {
      await side.release();
    }
    expect(((await opening) as { count: number }).count).toBeGreaterThanOrEqual(1);
    const result = await resolving;
    // The opening went first and found nothing yet; the resolve then found the gate waiting.
    expect(result).toEqual({ signalId: expect.any(String), matched: [ids.ciId], duplicate: false });
    await expectAppliedOnce(ids, result.signalId);
  });

  it('a failing signal racing the opening sends the work back exactly once', async () => {
    const pr = nextPr();
    const gate = { type: 'gh_ci', repo: REPO, pr };
    const ids = await readyGate(gate);
    const side = await holdMatchKey(keyOf(gate));
    let resolving: Promise<ResolveResult>;
    let opening: Promise<unknown>;
    try {
      resolving = (await startBlocked(() => resolve('gh_ci', { repo: REPO, pr }, 'fail', { summary: `red ${pr}` }), 'the resolve')).done;
      opening = (await startBlocked(() => activateReadyTasks(database.db), 'the gate opening')).done;
    } finally {
      await side.release();
    }
    const result = await resolving;
    await opening;
    const [ci, build] = [await taskRow(ids.ciId), await taskRow(ids.buildId)];
    expect({ status: ci.status, reworkCount: ci.reworkCount }).toEqual({ status: 'pending', reworkCount: 1 });
    expect(build.status).toBe('pending');
    expect(build.error).toContain(`red ${pr}`);
    expect(await transitionsTo(ids.buildId, 'pending')).toBe(1);
    expect(await transitionsTo(ids.ciId, 'pending')).toBe(1);
    expect((await signalRow(result.signalId)).matchedTaskIds).toEqual([ids.ciId]);

    // The rework runs; the gate opens again and waits for a result of the new run.
    await runAgentTask(ids.buildId);
    await activateReadyTasks(database.db);
    expect(await taskRow(ids.ciId)).toMatchObject({ status: 'waiting', reworkCount: 1 });
    const pass = await resolve('gh_ci', { repo: REPO, pr }, 'pass');
    expect(pass.matched).toEqual([ids.ciId]);
    expect(await transitionsTo(ids.ciId, 'succeeded')).toBe(1);
    await runAgentTask(ids.deployId);
    expect(await goalStatus(database.db, ids.goalId)).toBe('succeeded');
  });

  it('a gate released by an approval (passHold) and opened while a signal arrives', async () => {
    const pr = nextPr();
    const gate = { type: 'gh_review', repo: REPO, pr };
    const { goal, tasks } = await createGoal(database.db, [
      { key: 'ok', title: 'Sign-off', kind: 'human_review' },
      { key: 'ci', title: 'Review bot', kind: 'wait_for_signal', gate },
      { key: 'deploy', title: 'Deploy' },
    ]);
    const t = byKey(tasks);
    await activateReadyTasks(database.db);
    expect((await passHold(database.db, t.ok!.id, 'review')).outcome).toBe('applied');

    const side = await holdMatchKey(keyOf(gate));
    let resolving: Promise<ResolveResult>;
    let opening: Promise<unknown>;
    try {
      resolving = (await startBlocked(() => resolve('gh_review', { repo: REPO, pr }, 'pass'), 'the resolve')).done;
      opening = (await startBlocked(() => activateReadyTasks(database.db), 'the gate opening')).done;
    } finally {
      await side.release();
    }
    const result = await resolving;
    await opening;
    await expectAppliedOnce({ goalId: goal.id, ciId: t.ci!.id, deployId: t.deploy!.id }, result.signalId);
  });

  it('a compound gate opening while both of its signals arrive applies both, once', async () => {
    const pr = nextPr();
    const gate = { all: [{ type: 'gh_ci', repo: REPO, pr }, { type: 'gh_review', repo: REPO, pr }] };
    const ids = await readyGate(gate);
    const parsed = normalizeGate(gate);
    if (!parsed.ok) throw new Error(parsed.error);
    const [ciKey] = gateMatchKeys(parsed.gate.condition).sort();
    // Hold the key the opening takes first: the CI resolve and the opening queue on it.
    const side = await holdMatchKey(ciKey!);
    let ciResolve: Promise<ResolveResult>;
    let opening: Promise<unknown>;
    let reviewResult: ResolveResult;
    try {
      ciResolve = (await startBlocked(() => resolve('gh_ci', { repo: REPO, pr }, 'pass'), 'the CI resolve')).done;
      opening = (await startBlocked(() => activateReadyTasks(database.db), 'the gate opening')).done;
      // The review signal needs no held key: it is stored while the gate is not yet open.
      reviewResult = await resolve('gh_review', { repo: REPO, pr }, 'pass');
      expect(reviewResult.matched).toEqual([]);
    } finally {
      await side.release();
    }
    const ciResult = await ciResolve;
    await opening;
    const ci = await taskRow(ids.ciId);
    expect(ci.status).toBe('succeeded');
    expect([...(ci.result as { signal_ids: string[] }).signal_ids].sort()).toEqual([ciResult.signalId, reviewResult.signalId].sort());
    expect(await transitionsTo(ids.ciId, 'succeeded')).toBe(1);
    expect((await signalRow(ciResult.signalId)).matchedTaskIds).toContain(ids.ciId);
    expect((await signalRow(reviewResult.signalId)).matchedTaskIds).toContain(ids.ciId);
  });
});

describe('two decisions on one waiting gate, racing', () => {
  it('a matching signal and a direct /signal on the locked gate: the first applies, the second is a conflict', async () => {
    const pr = nextPr();
    const gate = { type: 'gh_ci', repo: REPO, pr };
    const ids = await readyGate(gate);
    await activateReadyTasks(database.db);
    expect((await taskRow(ids.ciId)).status).toBe('waiting');

    const side = await holdTaskRow(ids.ciId);
    let resolving: Promise<ResolveResult>;
    let direct: ReturnType<typeof signalGate>;
    try {
      const r = await startBlocked(() => resolve('gh_ci', { repo: REPO, pr }, 'pass'), 'the resolve on the gate row');
      expectWaitingOnGateRow(r.blocked);
      const d = await startBlocked(() => signalGate(database.db, ids.ciId, { status: 'fail', summary: 'by hand' }), 'the direct signal on the gate row');
      expect(d.blocked.query).toMatch(/for update/i);
      resolving = r.done;
      direct = d.done;
    } finally {
      await side.release();
    }
    const result = await resolving;
    expect(result.matched).toEqual([ids.ciId]);
    expect(await direct).toMatchObject({ outcome: 'conflict' });
    expect((await taskRow(ids.buildId)).status).toBe('succeeded');
    await expectAppliedOnce(ids, result.signalId);
  });
});

describe('the same idempotency_key, racing', () => {
  it('two identical resolves: one applies, the other answers duplicate with its matches', async () => {
    const pr = nextPr();
    const gate = { type: 'gh_ci', repo: REPO, pr };
    const ids = await readyGate(gate);
    await activateReadyTasks(database.db);
    const key = `delivery-${pr}`;
    const countBefore = await signalsWithKey(key);
    expect(countBefore).toBe(0);

    const side = await holdMatchKey(keyOf(gate));
    let first: Promise<ResolveResult>;
    let second: Promise<ResolveResult>;
    try {
      first = (await startBlocked(() => resolve('gh_ci', { repo: REPO, pr }, 'pass', { idempotencyKey: key }), 'the first resolve')).done;
      second = (await startBlocked(() => resolve('gh_ci', { repo: REPO, pr }, 'pass', { idempotencyKey: key }), 'the second resolve')).done;
    } finally {
      await side.release();
    }
    const results = await Promise.all([first, second]);
    expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
    expect(results[0]).toEqual({ signalId: expect.any(String), matched: [ids.ciId], duplicate: false });
    expect(results[1]).toEqual({ ...results[0], duplicate: true });
    expect(await signalsWithKey(key)).toBe(1);
    await expectAppliedOnce(ids, results[0]!.signalId);
  });

  it('the same key with other attributes, meeting on the unique index: the second waits for the first and is its duplicate', async () => {
    const pr = nextPr();
    const gate = { type: 'gh_ci', repo: REPO, pr };
    const ids = await readyGate(gate);
    await activateReadyTasks(database.db);
    const key = `delivery-${pr}`;

    // The first resolve stores its signal, then waits on the gate row; its twin
    // (no match key in common) reaches the insert and waits on the first's
    // uncommitted row in the unique index.
    const side = await holdTaskRow(ids.ciId);
    let first: Promise<ResolveResult>;
    let second: Promise<ResolveResult>;
    try {
      const f = await startBlocked(() => resolve('gh_ci', { repo: REPO, pr }, 'pass', { idempotencyKey: key }), 'the first resolve');
      expectWaitingOnGateRow(f.blocked);
      const s = await startBlocked(() => resolve('gh_ci', { repo: 'other/repo', pr: pr + 10_000 }, 'fail', { idempotencyKey: key }), 'the second resolve');
      expect(s.blocked).toMatchObject({ wait_event: 'transactionid' });
      // On the first resolve's uncommitted signal (the unique index), not on the gate row.
      expect(s.blocked.query).toMatch(/arbor_signal_arrive/);
      expect(await blockingPids(s.blocked.pid)).toEqual([f.blocked.pid]);
      first = f.done;
      second = s.done;
    } finally {
      await side.release();
    }
    const a = await first;
    const b = await second;
    expect(a).toEqual({ signalId: expect.any(String), matched: [ids.ciId], duplicate: false });
    expect(b).toEqual({ signalId: a.signalId, matched: [ids.ciId], duplicate: true });
    expect(await signalsWithKey(key)).toBe(1);
    await expectAppliedOnce(ids, a.signalId);
  });
});

async function signalsWithKey(key: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM signals WHERE idempotency_key = ${key}`.execute(database.db);
  return Number(rows[0]!.n);
}
