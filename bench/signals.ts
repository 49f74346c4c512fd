import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { sql } from 'kysely';
import type { Db } from '../server/db/database.js';
import { planGoalTree, type TaskSpec } from '../server/domain/goal-tree.js';
import type { NotificationListener } from '../server/db/notification-listener.js';
import { createApp } from '../server/http/app.js';
import { resolveSignal } from '../server/signals/resolver.js';
import { activateReadyTasks } from '../server/store/dispatch.js';
import { insertGoalTree } from '../server/store/goals.js';
import type { Cleanup } from './cleanup.js';
import { withPartCleanup, type BenchContext } from './context.js';
import { describeDelta } from './counters.js';
import { openBenchDatabase } from './database.js';
import { checkpoint } from './history.js';
import { figure, note, seconds } from './output.js';
import { describeSummary, summarize } from './stats.js';

/**
 * The signal figures: `POST /api/signals/resolve` over real HTTP (the app of
 * createApp served by @hono/node-server on a loopback port, in this process),
 * each request matching exactly one waiting gate, timed from the call of
 * fetch() to the parsed answer.
 *
 * Two worlds side by side, each in a fresh database of its own: one where
 * 100,000 other gates wait, one where 100 do. The same resolves go to both,
 * alternately (resolve i to the loaded world, then resolve i to the baseline
 * world), so that whatever else the machine does during the run weighs on
 * both alike and the ratio of their medians shows what the waiting gates
 * cost, not what the machine was doing at the time.
 *
 * The target gates are created as the API would create them (planGoalTree,
 * insertGoalTree) and opened by the orchestrator's own activateReadyTasks: one
 * goal per gate, `ci` (the gate) followed by an agent task `after`, so that a
 * resolve does what it does in production — succeeds the gate, releases the
 * task after it, checks the goal's roll-up. The other gates are written with
 * SQL in their stored form, as far faster set-based inserts: waiting, armed,
 * their gate jsonb and task_gate_keys rows exactly as insertGoalTree and
 * openGates leave them.
 */

export interface TargetGate {
  taskId: string;
  goalId: string;
  repo: string;
  pr: number;
}

interface World {
  label: string;
  db: Db;
  url: string;
  otherGates: number;
  warmup: TargetGate[];
  targets: TargetGate[];
  /** BENCH_PROFILE only: when each timed resolve began (performance.now()), to line the slow ones up with GC pauses. */
  spans?: number[];
  /** BENCH_PROFILE only: gates resolved by calling resolveSignal() in-process, to split HTTP from the store's work. */
  direct: TargetGate[];
  latencies: number[];
}

/** Repositories the waiting gates' pull requests are spread over. */
const REPOS = 1000;
/** Target gates' pull request numbers start here: no waiting gate has one this high. */
const TARGET_PR_BASE = 1_000_000;
/** insertGoalTree calls in flight while creating target gates. */
const CREATE_CONCURRENCY = 8;

export async function measureSignals(ctx: BenchContext): Promise<void> {
  const s = ctx.settings.signals;
  await withPartCleanup(ctx, 'signals', async (cleanup) => {
    const started = performance.now();
    const loaded = await buildWorld(ctx, cleanup, 'signals-loaded', s.waitingGates);
    const baseline = await buildWorld(ctx, cleanup, 'signals-baseline', s.baselineGates);
    note(`signals: both worlds ready in ${seconds(performance.now() - started)}`);

    // Warm-up, unmeasured: JIT, the pools' connections and their plan caches.
    for (let i = 0; i < s.warmup; i++) {
      await resolveOne(loaded, loaded.warmup[i]!, `warm-${i}`);
      await resolveOne(baseline, baseline.warmup[i]!, `warm-${i}`);
    }
    ctx.counter.discard();

    const gc = ctx.settings.profile ? watchGc() : null;
    const before = ctx.counter.snapshot();
    for (let i = 0; i < s.resolves; i++) {
      loaded.latencies.push(await resolveOne(loaded, loaded.targets[i]!, `run-${i}`));
      baseline.latencies.push(await resolveOne(baseline, baseline.targets[i]!, `run-${i}`));
    }
    const after = ctx.counter.snapshot();
    gc?.report([loaded, baseline]);
    const l = summarize(loaded.latencies);
    const b = summarize(baseline.latencies);
    note(`signals: ${s.resolves} resolves with ${loaded.otherGates} other gates waiting: ${describeSummary(l)}`);
    note(`signals: ${s.resolves} resolves with ${baseline.otherGates} other gates waiting: ${describeSummary(b)}`);
    note(`signals: both worlds together: ${describeDelta(before, after, s.resolves * 2, 'resolve')}`);
    ctx.counter.report('signals');
    if (ctx.settings.profile) {
      await explainLookup(loaded);
      await profileDirect(ctx, loaded, baseline, l.p50);
    }
    await verifyWorld(loaded);
    await verifyWorld(baseline);

    figure('signals.resolve_p50', l.p50, 'ms', 3);
    figure('signals.resolve_p99', l.p99, 'ms', 3);
    figure('signals.resolve_baseline_p50', b.p50, 'ms', 3);
    figure('signals.resolve_scan_ratio', l.p50 / b.p50, 'x', 2);
  });
}

async function buildWorld(ctx: BenchContext, cleanup: Cleanup, label: string, otherGates: number): Promise<World> {
  const s = ctx.settings.signals;
  const { db } = await openBenchDatabase(cleanup, ctx.adminUrl, ctx.logger, ctx.counter, { label });

  let t = performance.now();
  await seedWaitingGates(db, otherGates, s.gatesPerGoal);
  note(`${label}: ${otherGates} other gates waiting, seeded in ${seconds(performance.now() - t)}`);

  t = performance.now();
  const direct = ctx.settings.profile ? s.resolves : 0;
  const all = await createTargetGates(db, s.warmup + s.resolves + direct);
  // As the orchestrator does on its tick: the gates start waiting (armed, checked for early signals).
  let activated = 0;
  for (let pass = await activateReadyTasks(db); pass.count > 0; pass = await activateReadyTasks(db)) activated += pass.count;
  const { rows } = await sql<{ waiting: string }>`
    SELECT count(*) AS waiting FROM tasks WHERE id = ANY(${all.map((g) => g.taskId)}::uuid[]) AND status = 'waiting'`.execute(db);
  if (Number(rows[0]!.waiting) !== all.length) {
    throw new Error(`${label}: ${rows[0]!.waiting} of ${all.length} target gates are waiting after activation`);
  }
  note(`${label}: ${all.length} target gates created and opened (${activated} tasks activated) in ${seconds(performance.now() - t)}`);

  // What a database that grew this way would have: fresh statistics, no dead tuples, nothing dirty to write out mid-run.
  await sql`VACUUM ANALYZE`.execute(db);
  await checkpoint(db);

  const url = await serveApp(ctx, cleanup, db);
  return {
    label,
    db,
    url,
    otherGates,
    spans: ctx.settings.profile ? [] : undefined,
    warmup: all.slice(0, s.warmup),
    targets: all.slice(s.warmup, s.warmup + s.resolves),
    direct: all.slice(s.warmup + s.resolves),
    latencies: [],
  };
}

/** `count` gates waiting on keys no target uses, `perGoal` to a running goal, in one statement per goal. */
async function seedWaitingGates(db: Db, count: number, perGoal: number): Promise<void> {
  for (let base = 0; base < count; base += perGoal) {
    const size = Math.min(perGoal, count - base);
    await sql`
      WITH g AS (
        INSERT INTO goals (id, title, repo, base_ref, agent, children_mode, status, max_parallel,
                           created_at, updated_at, started_at)
        VALUES (gen_random_uuid(), ${`waiting gates ${base}`}, '/tmp/arbor-bench-repo', 'HEAD', 'claude', 'parallel',
                'running', 8, now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour')
        RETURNING id
      ), t AS (
        INSERT INTO tasks (id, goal_id, key, ordinal, position, depth, title, kind, session_policy, route,
                           children_mode, status, max_attempts, unmet_deps, gate, gate_armed_at,
                           created_at, updated_at, started_at)
        SELECT gen_random_uuid(), g.id, 'ci-' || i, i, i, 0, 'CI green ' || i, 'wait_for_signal', 'auto', 'spawned',
               'sequential', 'waiting', 2, 0,
               jsonb_build_object('type', 'gh_ci', 'repo', 'acme/repo-' || ((${base}::int + i) % ${REPOS}::int),
                                  'pr', (${base}::int + i) / ${REPOS}::int + 1, 'on_timeout', 'fail', 'rework', 2),
               now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'
        FROM g CROSS JOIN generate_series(0, ${size - 1}::int) AS i
        RETURNING id, gate
      )
      INSERT INTO task_gate_keys (task_id, match_key)
      SELECT id, 'gh_ci|pr=' || (gate->>'repo') || '#' || (gate->>'pr') FROM t`.execute(db);
  }
  // The keys must be exactly what the server computes (gateMatchKeys): check one against it.
  if (count > 0) {
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM task_gate_keys WHERE match_key = ${'gh_ci|pr=acme/repo-0#1'}`.execute(db);
    if (Number(rows[0]!.n) !== 1) throw new Error(`seeded gate keys are not in the server's format (found ${rows[0]!.n} for repo-0#1)`);
  }
}

/**
 * One goal per target gate, as the API stores it: the gate, then (unless
 * `gateOnly`) an agent task it holds back.
 */
export async function createTargetGates(db: Db, count: number, options: { gateOnly?: boolean; prBase?: number; repo?: string } = {}): Promise<TargetGate[]> {
  const targets: TargetGate[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const repo = `acme/repo-${i % REPOS}`;
      const pr = (options.prBase ?? TARGET_PR_BASE) + i;
      const specs: TaskSpec[] = [{ key: 'ci', title: 'CI green', kind: 'wait_for_signal', gate: { type: 'gh_ci', repo, pr } }];
      if (!options.gateOnly) specs.push({ key: 'after', title: 'Ship it', instructions: 'after CI' });
      const plan = planGoalTree(specs, 'sequential', { maxTasks: 10, maxDepth: 4 });
      if (!plan.ok) throw new Error(`target goal rejected: ${JSON.stringify(plan.errors)}`);
      const { goal, tasks } = await insertGoalTree(
        db,
        { title: `target ${i}`, description: '', repo: options.repo ?? '/tmp/arbor-bench-repo', baseRef: 'HEAD', agent: 'claude', childrenMode: 'sequential', maxParallel: 4, metadata: {} },
        plan.tasks,
      );
      targets[i] = { taskId: tasks.find((t) => t.key === 'ci')!.id, goalId: goal.id, repo, pr };
    }
  };
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, worker));
  return targets;
}

/** The real HTTP app on a loopback port of its own; open API (no token), as on a developer's machine. */
export async function serveApp(ctx: BenchContext, cleanup: Cleanup, db: Db, notifications?: NotificationListener): Promise<string> {
  const app = createApp({
    db,
    logger: ctx.logger,
    notifications,
    config: {
      http: { host: '127.0.0.1', port: 0, bodyLimitBytes: 1024 * 1024 },
      auth: {},
      goals: { defaultAgent: 'claude', maxTasksPerGoal: 10_000, maxTreeDepth: 32 },
    },
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  await new Promise<void>((resolve, reject) => {
    if (server.listening) return resolve();
    server.once('listening', resolve);
    server.once('error', reject);
  });
  cleanup.add('close the signals HTTP server', async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One resolve, timed; it must match exactly its gate, or the figure would mean nothing. */
async function resolveOne(world: World, gate: TargetGate, tag: string): Promise<number> {
  const body = JSON.stringify({
    type: 'gh_ci',
    repo: gate.repo,
    pr: gate.pr,
    status: 'pass',
    summary: 'all checks passed',
    idempotency_key: `bench-${world.label}-${tag}`,
  });
  const started = performance.now();
  world.spans?.push(started);
  const res = await fetch(`${world.url}/api/signals/resolve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  const elapsed = performance.now() - started;
  if (res.status !== 200) throw new Error(`${world.label}: resolve of ${gate.repo}#${gate.pr} answered ${res.status}: ${text}`);
  const answer = JSON.parse(text) as { matched: string[]; duplicate: boolean };
  if (answer.duplicate || answer.matched.length !== 1 || answer.matched[0] !== gate.taskId) {
    throw new Error(`${world.label}: resolve of ${gate.repo}#${gate.pr} matched ${JSON.stringify(answer.matched)} (duplicate ${answer.duplicate}), expected [${gate.taskId}]`);
  }
  return elapsed;
}

/**
 * BENCH_PROFILE=1: this process's GC pauses during the timed resolves, and how
 * many of the slowest 1% of resolves overlapped one — the server and the
 * client share this event loop, as they share the machine.
 */
function watchGc(): { report(worlds: World[]): void } {
  const pauses: { start: number; end: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    report(worlds) {
      observer.disconnect();
      const total = pauses.reduce((a, p) => a + p.end - p.start, 0);
      const longest = pauses.reduce((a, p) => Math.max(a, p.end - p.start), 0);
      note(`signals profile: ${pauses.length} GC pauses during the timed resolves, ${total.toFixed(0)} ms in all, longest ${longest.toFixed(1)} ms`);
      for (const world of worlds) {
        const spans = (world.spans ?? []).map((start, i) => ({ start, end: start + world.latencies[i]!, ms: world.latencies[i]! }));
        const slow = [...spans].sort((a, b) => b.ms - a.ms).slice(0, Math.max(1, Math.floor(spans.length / 100)));
        const overlapped = slow.filter((r) => pauses.some((p) => p.start < r.end && p.end > r.start));
        const gcMs = slow.map((r) => pauses.filter((p) => p.start < r.end && p.end > r.start).reduce((a, p) => a + p.end - p.start, 0));
        note(
          `signals profile: ${world.label}: slowest ${slow.length} resolves (${slow.map((r) => r.ms.toFixed(1)).join(', ')} ms): ` +
            `${overlapped.length} overlapped a GC pause (GC ms inside them: ${gcMs.map((g) => g.toFixed(1)).join(', ')})`,
        );
      }
    },
  };
}

/**
 * BENCH_PROFILE=1: the plan of the resolver's gate lookup (the gate query inside
 * arbor_signal_arrive, migration 0013) for the keys of a signal that matches one of the other gates, in a
 * transaction that is rolled back.
 */
async function explainLookup(world: World): Promise<void> {
  if (world.otherGates === 0) return;
  const keys = ['gh_ci|pr=acme/repo-7#3', 'gh_ci|repo=acme/repo-7', 'gh_ci|pr=3'];
  await world.db.connection().execute(async (conn) => {
    await sql`BEGIN`.execute(conn);
    try {
      const { rows } = await sql<{ 'QUERY PLAN': string }>`
        EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
        SELECT t.id, t.goal_id, t.parent_id, t.kind, t.gate, t.rework_count, t.gate_armed_at FROM tasks t
        WHERE t.id IN (SELECT task_id FROM task_gate_keys WHERE match_key = ANY(${keys}::text[]))
          AND t.status = 'waiting'
        ORDER BY t.id
        FOR UPDATE OF t`.execute(conn);
      for (const row of rows) note(`signals profile: plan | ${row['QUERY PLAN']}`);
    } finally {
      await sql`ROLLBACK`.execute(conn);
    }
  });
}

/**
 * BENCH_PROFILE=1: the same resolves without HTTP — resolveSignal() called in
 * this process, as the route handler calls it — so the HTTP figure splits into
 * the store's work and the HTTP stack's (Hono, validation, node:http, fetch).
 */
async function profileDirect(ctx: BenchContext, loaded: World, baseline: World, httpP50: number): Promise<void> {
  const direct: Record<string, number[]> = { [loaded.label]: [], [baseline.label]: [] };
  const before = ctx.counter.snapshot();
  for (let i = 0; i < loaded.direct.length; i++) {
    for (const world of [loaded, baseline]) {
      const gate = world.direct[i]!;
      const started = performance.now();
      const result = await resolveSignal(world.db, {
        type: 'gh_ci',
        attributes: { repo: gate.repo, pr: gate.pr },
        status: 'pass',
        summary: 'all checks passed',
        idempotencyKey: `bench-${world.label}-direct-${i}`,
        source: 'api',
      });
      direct[world.label]!.push(performance.now() - started);
      if (result.matched.length !== 1 || result.matched[0] !== gate.taskId) {
        throw new Error(`${world.label}: direct resolve matched ${JSON.stringify(result.matched)}, expected [${gate.taskId}]`);
      }
    }
  }
  const after = ctx.counter.snapshot();
  const l = summarize(direct[loaded.label]!);
  note(`signals profile: resolveSignal() without HTTP, ${loaded.otherGates} waiting: ${describeSummary(l)}`);
  note(`signals profile: resolveSignal() without HTTP, ${baseline.otherGates} waiting: ${describeSummary(summarize(direct[baseline.label]!))}`);
  note(`signals profile: so HTTP adds ${(httpP50 - l.p50).toFixed(2)} ms at the median; direct: ${describeDelta(before, after, loaded.direct.length * 2, 'resolve')}`);
  ctx.counter.report('signals direct');
  // The direct resolves count as resolved in verifyWorld.
  loaded.warmup.push(...loaded.direct);
  baseline.warmup.push(...baseline.direct);
  loaded.direct = [];
  baseline.direct = [];
}

/** Every resolved gate succeeded (and released the task after it); no other gate moved. */
async function verifyWorld(world: World): Promise<void> {
  const resolved = [...world.warmup, ...world.targets];
  const { rows } = await sql<{ succeeded: string; released: string; others: string }>`
    SELECT
      (SELECT count(*) FROM tasks WHERE id = ANY(${resolved.map((g) => g.taskId)}::uuid[]) AND status = 'succeeded') AS succeeded,
      (SELECT count(*) FROM tasks WHERE goal_id = ANY(${resolved.map((g) => g.goalId)}::uuid[])
         AND key = 'after' AND status = 'pending' AND unmet_deps = 0) AS released,
      (SELECT count(*) FROM tasks WHERE status = 'waiting') AS others`.execute(world.db);
  const r = rows[0]!;
  if (Number(r.succeeded) !== resolved.length || Number(r.released) !== resolved.length || Number(r.others) !== world.otherGates) {
    throw new Error(
      `${world.label}: after ${resolved.length} resolves, ${r.succeeded} gates succeeded, ${r.released} tasks released, ` +
        `${r.others} gates still waiting (expected ${resolved.length}, ${resolved.length}, ${world.otherGates})`,
    );
  }
}
