import os from 'node:os';
import { NotificationListener } from '../server/db/notification-listener.js';
import { EVENTS_CHANNEL } from '../server/store/events.js';
import { Cleanup } from './cleanup.js';
import { withPartCleanup, type BenchContext } from './context.js';
import { StatementCounter } from './counters.js';
import { openBenchDatabase, openBenchServer } from './database.js';
import { commitFloor, measureCommitLatency } from './commit-floor.js';
import { measureChain, measureParallel } from './dispatch.js';
import { seedHistory } from './history.js';
import { figure, note, seconds, stderrLogger } from './output.js';
import type { Rig } from './rig.js';
import { measureScale } from './scale.js';
import { measureSessions } from './sessions.js';
import { readSettings } from './settings.js';
import { measureSignals } from './signals.js';
import { measureLoad } from './load.js';
import { measurePeers } from './peers/peers.js';

/**
 * `npm run bench`: Arbor's figures on a real Postgres, printed to stdout as
 * `<name> <value> <unit>`; context and progress go to stderr. Five parts by
 * default, each on fresh databases of its own, and the peers when named
 * (BENCH_ONLY=dispatch,signals,sessions,scale,load,peers picks some):
 *
 * - dispatch: the empty-database chain runs first, on a database that has
 *   seen nothing but its warm-up; the wide goal next; then a million finished
 *   tasks are added and the chain is timed again, so the ratio of the two
 *   chains shows whether dispatch cost grows with history (it must not: it
 *   should grow with ready work only).
 * - signals: resolves over HTTP with 100,000 other gates waiting, against the
 *   same with 100 (signals.ts).
 * - sessions: the start of a real agent process in a worktree of a 10,000-file
 *   repository against a bare `git worktree add`, session log throughput, and
 *   the drain of spawned tasks that commit, through a `file://` remote
 *   (sessions.ts, spawned.ts).
 * - scale: merging a task branch without a worktree (local and file:// remote),
 *   and dispatch throughput with 1, 2 and 3 orchestrators on one database
 *   (scale.ts).
 * - load: 20 sessions logging flat out, 200 event streams and 50 signals a
 *   second at once: event loop delay, /healthz and resolve latency (load.ts).
 * - peers: graphile-worker and pg-boss on the same Postgres, alternating with
 *   Arbor's own dispatch figures (peers/peers.ts); only when named.
 */
async function main(): Promise<number> {
  const began = performance.now();
  const settings = readSettings();
  note(`node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), ${os.platform()}-${os.arch()}`);
  // Other work on the machine moves every figure here: say how busy it was.
  note(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  note(
    `parts: ${settings.parts.join(', ')}; sizes: parallel ${settings.parallelTasks} (max_parallel ${settings.parallelMaxParallel}), ` +
      `chain ${settings.chainTasks}, history ${settings.historyTasks}; ` +
      `signals ${settings.signals.resolves} resolves (+${settings.signals.warmup} warm-up), ${settings.signals.waitingGates} vs ` +
      `${settings.signals.baselineGates} waiting; sessions: repo of ${settings.sessions.repoFiles} files, ` +
      `${settings.sessions.startSamples} starts, ${settings.sessions.logSessions} x ${settings.sessions.logLinesPerSession} log lines, ` +
      `${settings.sessions.spawnedTasks} spawned tasks in ${settings.sessions.spawnedSessions} sessions; ` +
      `load ${settings.load.seconds} s of ${settings.load.sessions} sessions, ${settings.load.sseClients} streams, ${settings.load.signalsPerSecond} signals/s; ` +
      `peers ${settings.peers.rounds} rounds` +
      (settings.overridden.length > 0 ? ` — overridden by ${settings.overridden.join(' ')}` : ''),
  );

  const cleanup = new Cleanup();
  // Ctrl-C still takes down what was set up (the embedded Postgres runs detached and would outlive us).
  const onSignal = (signal: NodeJS.Signals) => {
    note(`${signal}: cleaning up`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const logger = stderrLogger();
    const counter = new StatementCounter(settings.profile);
    const adminUrl = await openBenchServer(cleanup);
    const ctx: BenchContext = { cleanup, adminUrl, logger, counter, settings, failures: [] };
    for (const part of settings.parts) {
      const partBegan = performance.now();
      if (part === 'dispatch') await measureDispatch(ctx);
      else if (part === 'signals') await measureSignals(ctx);
      else if (part === 'sessions') await measureSessions(ctx);
      else if (part === 'scale') await measureScale(ctx);
      else if (part === 'load') await measureLoad(ctx);
      else await measurePeers(ctx);
      note(`${part} part took ${seconds(performance.now() - partBegan)}`);
    }
    if (ctx.failures.length > 0) {
      for (const failure of ctx.failures) note(`FAILED: ${failure}`);
      return 1;
    }
    return 0;
  } catch (err) {
    note(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  } finally {
    await cleanup.run();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    note(`load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    note(`bench took ${seconds(performance.now() - began)}`);
  }
}

/** Commits timed on each side of the chain (bench/commit-floor.ts). */
const COMMIT_SAMPLES = 100;

async function measureDispatch(ctx: BenchContext): Promise<void> {
  const { settings, counter, logger } = ctx;
  await withPartCleanup(ctx, 'dispatch', async (cleanup) => {
    const { db, url } = await openBenchDatabase(cleanup, ctx.adminUrl, logger, counter, {
      explainSlowMs: settings.profile ? settings.explainSlowMs : undefined,
      label: 'dispatch',
    });
    const listener = new NotificationListener(url, EVENTS_CHANNEL, logger);
    await listener.start();
    cleanup.add('stop the notification listener', () => listener.stop());
    const rig: Rig = { db, cleanup, listener, logger };
    const timeoutMs = settings.goalTimeoutMs;

    const commitsBefore = await measureCommitLatency(db, COMMIT_SAMPLES);
    const empty = await measureChain(rig, counter, 'chain', { tasks: settings.chainTasks, warmup: settings.warmupTasks, timeoutMs });
    const commitMs = commitFloor(commitsBefore, await measureCommitLatency(db, COMMIT_SAMPLES));
    figure('dispatch.chain_1k', empty.meanMs, 'ms', 3);
    figure('dispatch.commit_ms', commitMs, 'ms', 3);
    figure('dispatch.chain_over_commit', empty.meanMs / commitMs, 'x', 2);

    const parallel = await measureParallel(rig, counter, {
      tasks: settings.parallelTasks,
      maxParallel: settings.parallelMaxParallel,
      timeoutMs,
    });
    figure('dispatch.parallel_10k', parallel.tasksPerSecond, 'tasks/s', 0);

    await seedHistory(db, settings.historyTasks, settings.historyTasksPerGoal);
    const history = await measureChain(rig, counter, 'history', { tasks: settings.chainTasks, warmup: settings.warmupTasks, timeoutMs });
    figure('dispatch.history_1m', history.meanMs, 'ms', 3);
    figure('dispatch.history_ratio', history.meanMs / empty.meanMs, 'x', 2);
  });
}

const code = await main();
process.exitCode = code;
// Everything was closed above, so Node exits now; should some handle still hold
// the loop, do not hang a CI job over it.
setTimeout(() => {
  note('handles still open after cleanup; exiting anyway');
  process.exit(code);
}, 5000).unref();
