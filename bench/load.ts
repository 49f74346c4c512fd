import { randomBytes } from 'node:crypto';
import { writeFile, mkdtemp, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { NotificationListener } from '../server/db/notification-listener.js';
import type { TaskSpec } from '../server/domain/goal-tree.js';
import { activateReadyTasks } from '../server/store/dispatch.js';
import { EVENTS_CHANNEL } from '../server/store/events.js';
import { withPartCleanup, type BenchContext } from './context.js';
import { describeDelta } from './counters.js';
import { openBenchDatabase } from './database.js';
import { figure, note, seconds } from './output.js';
import { waitForGoalEnd, type Rig } from './rig.js';
import { createGoal, defaultSessionDir, generateRepo, pollUntil, withSessionOrchestrator } from './sessions.js';
import { createTargetGates, serveApp } from './signals.js';
import { describeSummary, summarize } from './stats.js';

/**
 * The load figures: is the server still responsive while it works hard?
 * One process runs what the server runs — the HTTP app (LISTEN-fed event
 * streams), a TaskOrchestrator and the real AgentSessionRunner — and for
 * BENCH_LOAD_SECONDS (60) at once:
 *
 * - 20 spawned sessions (the `command` agent running bench/agents/flood-agent.mjs)
 *   print as fast as the runner reads them;
 * - 200 clients follow GET /api/events as Server-Sent Events;
 * - 50 signals a second are posted to POST /api/signals/resolve, each
 *   resolving a waiting gate of its own (so 50 more events a second for the
 *   streams to carry);
 * - /healthz is asked 20 times a second.
 *
 * The clients run on a worker thread (bench/load-clients.ts): their work does
 * not land on the event loop being measured. Figures:
 *
 *   load.event_loop_p99_ms  the main thread's event loop delay p99 (monitorEventLoopDelay, 10 ms resolution) over the window
 *   load.healthz_p99_ms     /healthz, fetch() to the whole answer
 *   load.signal_p99_ms      a resolve, fetch() to the parsed answer
 *
 * and, to show the load was real, the events every stream received and
 *
 *   load.log_lines_per_s    lines of the agents' output written to session_logs per second over the
 *                           window: the lines the runner accounted for in it (sessions.log_lines, bumped
 *                           as they are stored or counted as dropped) less those dropped before they
 *                           were written (sessions.log_unwritten). Lines written and later removed by
 *                           the bound of 20,000 a session (the server's default,
 *                           ARBOR_SESSION_LOG_MAX_LINES) count: they were stored, the bound is a
 *                           retention setting.
 *   load.log_lines_unwritten lines dropped unwritten in the window: the database took nothing for too long
 */

/** The server's default bound on a session's stored lines (ARBOR_SESSION_LOG_MAX_LINES): the oldest beyond it are removed. */
const LOAD_LOG_MAX_LINES = 20_000;
const FLOOD_AGENT = fileURLToPath(new URL('./agents/flood-agent.mjs', import.meta.url));
const CLIENTS = new URL('./load-clients.mjs', import.meta.url);
/** The load's gates use pull request numbers no other part's do. */
const LOAD_PR_BASE = 5_000_000;

/** What load-clients.mjs is given and answers. */
interface LoadClientsInput {
  url: string;
  seconds: number;
  sseClients: number;
  signalsPerSecond: number;
  healthzPerSecond: number;
  targets: { repo: string; pr: number; taskId: string }[];
}

interface LoadClientsResult {
  signalMs: number[];
  healthzMs: number[];
  /** `signal.received` events each stream saw. */
  streamedSignals: number[];
  errors: string[];
}

type LoadClientsMessage = { kind: 'ready' } | { kind: 'done'; result: LoadClientsResult };

export async function measureLoad(ctx: BenchContext): Promise<void> {
  const s = ctx.settings.load;
  await withPartCleanup(ctx, 'load', async (cleanup) => {
    const { db, url } = await openBenchDatabase(cleanup, ctx.adminUrl, ctx.logger, ctx.counter, { label: 'load', poolSize: 20 });
    const listener = new NotificationListener(url, EVENTS_CHANNEL, ctx.logger);
    await listener.start();
    cleanup.add('stop the load notification listener', () => listener.stop());
    const rig: Rig = { db, cleanup, listener, logger: ctx.logger };

    const base = ctx.settings.sessions.dir ?? (await defaultSessionDir());
    const tmp = await realpath(await mkdtemp(path.join(base, 'arbor-bench-load-')));
    cleanup.add(`remove ${tmp}`, () => rm(tmp, { recursive: true, force: true }));
    const repo = await generateRepo(path.join(tmp, 'repo'), 20);

    let t = performance.now();
    const signalCount = Math.floor(s.signalsPerSecond * s.seconds);
    const targets = await createTargetGates(db, signalCount, { gateOnly: true, prBase: LOAD_PR_BASE, repo: repo.path });
    while ((await activateReadyTasks(db)).count > 0);
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM tasks WHERE status = 'waiting'`.execute(db);
    if (Number(rows[0]!.n) !== signalCount) throw new Error(`load: ${rows[0]!.n} of ${signalCount} gates waiting`);
    note(`load: ${signalCount} gates waiting in ${seconds(performance.now() - t)}`);
    const apiUrl = await serveApp(ctx, cleanup, db, listener);

    const goFile = path.join(tmp, `go-${randomBytes(3).toString('hex')}`);
    const argv = [process.execPath, FLOOD_AGENT, goFile, String(s.seconds)];

    await withSessionOrchestrator(ctx, rig, 'load', path.join(tmp, 'worktrees'), argv, { maxSessions: Math.max(8, s.sessions), logMaxLines: LOAD_LOG_MAX_LINES }, async () => {
      let floodGoal: string | null = null;
      if (s.sessions > 0) {
        const specs: TaskSpec[] = Array.from({ length: s.sessions }, (_, i) => ({
          key: `flood-${i}`,
          title: `Flood ${i}`,
          instructions: 'print as fast as you can',
          session_policy: 'spawn',
        }));
        floodGoal = (await createGoal(db, 'bench load', repo.path, 'command', specs, 'parallel', s.sessions)).goalId;
        t = performance.now();
        await pollUntil(`${s.sessions} flood sessions running`, 120_000, 20, async () => {
          const { rows } = await sql<{ n: string }>`
            SELECT count(*) AS n FROM sessions WHERE goal_id = ${floodGoal} AND status = 'running'`.execute(db);
          return Number(rows[0]!.n) >= s.sessions;
        });
        note(`load: ${s.sessions} sessions running after ${seconds(performance.now() - t)}`);
      }

      t = performance.now();
      const input: LoadClientsInput = {
        url: apiUrl,
        seconds: s.seconds,
        sseClients: s.sseClients,
        signalsPerSecond: s.signalsPerSecond,
        healthzPerSecond: s.healthzPerSecond,
        targets,
      };
      const worker = new Worker(CLIENTS, { workerData: input });
      cleanup.add('stop the load clients', () => worker.terminate().then(() => undefined));
      const messages = workerMessages(worker);
      await messages.next('ready');
      note(`load: ${s.sseClients} event streams connected in ${seconds(performance.now() - t)}; go for ${s.seconds} s`);

      const delay = monitorEventLoopDelay({ resolution: 10 });
      const before = ctx.counter.snapshot();
      const cpuBefore = process.cpuUsage();
      const logsBefore = await logCounts(rig, floodGoal);
      ctx.counter.discard();
      delay.enable();
      const began = performance.now();
      await writeFile(goFile, 'go\n');
      worker.postMessage('go');
      const result = (await messages.next('done')) as LoadClientsResult;
      const window = performance.now() - began;
      delay.disable();
      const cpu = process.cpuUsage(cpuBefore);
      const after = ctx.counter.snapshot();
      const logsAfter = await logCounts(rig, floodGoal);

      const ms = (ns: number) => ns / 1e6;
      const sig = summarize(result.signalMs);
      const health = summarize(result.healthzMs);
      const short = result.streamedSignals.filter((n) => n < signalCount).length;
      const lines = logsAfter.lines - logsBefore.lines;
      const dropped = logsAfter.dropped - logsBefore.dropped;
      const unwritten = logsAfter.unwritten - logsBefore.unwritten;
      const written = lines - unwritten;
      note(
        `load: ${lines} lines of the ${s.sessions} sessions' output accounted for in the window: ${written} written (${(written / (window / 1000)).toFixed(0)}/s), ` +
          `${unwritten} dropped unwritten; ${dropped - unwritten} written and then removed past the bound of ${LOAD_LOG_MAX_LINES} lines ` +
          `(${logsAfter.sessionsPastBound} sessions past it)`,
      );
      note(
        `load: event loop delay p50 ${ms(delay.percentile(50)).toFixed(1)}, p99 ${ms(delay.percentile(99)).toFixed(1)}, ` +
          `max ${ms(delay.max).toFixed(1)} ms; this process used ${((cpu.user + cpu.system) / 1e6 / (window / 1000)).toFixed(2)} cores`,
      );
      note(`load: signals ${describeSummary(sig)}`);
      note(`load: /healthz ${describeSummary(health)}`);
      note(
        `load: ${s.sseClients} streams received ${result.streamedSignals.reduce((a, b) => a + b, 0)} signal events ` +
          `(${signalCount} each expected; ${short} streams short)`,
      );
      note(`load: ${describeDelta(before, after, window / 1000, 'second')}`);
      ctx.counter.report('load');
      for (const error of result.errors) note(`load: client error: ${error}`);
      if (result.errors.length > 0) ctx.failures.push(`load: ${result.errors.length} client errors (first: ${result.errors[0]})`);
      if (short > 0) ctx.failures.push(`load: ${short} event streams did not receive every signal event`);

      if (floodGoal) {
        // The agents stop printing at the end of the window; their sessions end once the rest of their output is stored.
        t = performance.now();
        const end = await waitForGoalEnd(rig, floodGoal, 600_000);
        const total = await logCounts(rig, floodGoal);
        note(
          `load: the sessions' goal ended ${end.status} ${seconds(performance.now() - t)} after the window, ` +
            `${total.lines - logsAfter.lines} more lines stored or dropped meanwhile (${total.dropped - logsAfter.dropped} dropped)`,
        );
        if (end.status !== 'succeeded') ctx.failures.push(`load: the flood goal ended ${end.status}`);
      }

      figure('load.event_loop_p99_ms', ms(delay.percentile(99)), 'ms', 1);
      figure('load.healthz_p99_ms', health.p99, 'ms', 2);
      figure('load.signal_p99_ms', sig.p99, 'ms', 2);
      figure('load.signal_p50_ms', sig.p50, 'ms', 2);
      figure('load.log_lines_per_s', written / (window / 1000), 'lines/s', 0);
      figure('load.log_lines_unwritten', unwritten, 'lines', 0);
    });
  });
}

/** What the sessions of the goal have recorded of their output so far. */
interface LogCounts {
  /** sessions.log_lines: lines the runner has stored or counted as dropped (not those still in its buffers). */
  lines: number;
  /** sessions.log_dropped: lines never written, and lines removed by the bound once written. */
  dropped: number;
  /** sessions.log_unwritten: of the dropped, the lines never written (the database took nothing for too long). */
  unwritten: number;
  sessionsPastBound: number;
}

async function logCounts(rig: Rig, goalId: string | null): Promise<LogCounts> {
  if (goalId === null) return { lines: 0, dropped: 0, unwritten: 0, sessionsPastBound: 0 };
  const { rows } = await sql<{ lines: string | null; dropped: string | null; unwritten: string | null; sessionsPastBound: string }>`
    SELECT sum(log_lines) AS lines, sum(log_dropped) AS dropped, sum(log_unwritten) AS unwritten,
           count(*) FILTER (WHERE log_lines > ${LOAD_LOG_MAX_LINES}) AS sessions_past_bound
    FROM sessions WHERE goal_id = ${goalId}`.execute(rig.db);
  const r = rows[0]!;
  return { lines: Number(r.lines ?? 0), dropped: Number(r.dropped ?? 0), unwritten: Number(r.unwritten ?? 0), sessionsPastBound: Number(r.sessionsPastBound) };
}

/** The worker's messages, one awaited at a time; its failure rejects the wait. */
function workerMessages(worker: Worker) {
  const queue: LoadClientsMessage[] = [];
  let waiting: { kind: string; resolve: (value: unknown) => void; reject: (err: Error) => void } | null = null;
  let failed: Error | null = null;
  const deliver = () => {
    if (!waiting) return;
    if (failed) return waiting.reject(failed);
    const message = queue.shift();
    if (!message) return;
    const w = waiting;
    waiting = null;
    if (message.kind !== w.kind) w.reject(new Error(`load clients: expected ${w.kind}, got ${message.kind}`));
    else w.resolve(message.kind === 'done' ? message.result : undefined);
  };
  worker.on('message', (m: LoadClientsMessage) => {
    queue.push(m);
    deliver();
  });
  worker.on('error', (err) => {
    failed = err;
    deliver();
  });
  worker.on('exit', (code) => {
    failed ??= new Error(`load clients exited (${code})`);
    deliver();
  });
  return {
    next(kind: LoadClientsMessage['kind']): Promise<unknown> {
      return new Promise((resolve, reject) => {
        waiting = { kind, resolve, reject };
        deliver();
      });
    },
  };
}
