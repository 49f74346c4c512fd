/**
 * What the bench measures, and how big. The defaults are the published
 * figures; the BENCH_* variables shrink them for a quick run while changing
 * code (figure names stay the same so that tools reading the output do not
 * care, and the sizes actually used are logged to stderr).
 *
 * BENCH_ONLY=dispatch,signals,sessions,scale,load,peers picks the parts to run
 * (default: all but peers, which measures other systems and runs only when named),
 * and BENCH_SESSION_ONLY=rss,start,logs,spawned the measurements of the sessions part
 * (default: all).
 */

import { DEFAULT_AGENT_NICE } from '../server/config.js';

export const BENCH_PARTS = ['dispatch', 'signals', 'sessions', 'scale', 'load', 'peers'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];
/** Run when BENCH_ONLY names nothing. */
const DEFAULT_PARTS: readonly BenchPart[] = ['dispatch', 'signals', 'sessions', 'scale', 'load'];

/** The sessions part's measurements, in the order they run (sessions.ts says why rss comes first). */
export const SESSION_MEASUREMENTS = ['rss', 'start', 'logs', 'spawned'] as const;
export type SessionMeasurement = (typeof SESSION_MEASUREMENTS)[number];

export interface BenchSettings {
  /** The parts to run, in the order they run. */
  parts: BenchPart[];
  /** Independent tasks in the parallel goal. */
  parallelTasks: number;
  /** The parallel goal's max_parallel. */
  parallelMaxParallel: number;
  /** Tasks in each measured chain. */
  chainTasks: number;
  /** Tasks in the unmeasured chain run first, so both chains are timed with a warm JIT and plan cache. */
  warmupTasks: number;
  /** Finished tasks stored before the second chain is measured. */
  historyTasks: number;
  /** Tasks per history goal (the history is split into goals of this size). */
  historyTasksPerGoal: number;
  /** Give up on one measured goal after this long: the bench must always end by itself. */
  goalTimeoutMs: number;
  signals: {
    /** Measured resolves (each matches one gate of its own). */
    resolves: number;
    /** Unmeasured resolves first, each on a gate of its own, so JIT and plan caches are warm. */
    warmup: number;
    /** Gates waiting on other keys while the resolves are timed. */
    waitingGates: number;
    /** ... and in the baseline database. */
    baselineGates: number;
    /** Waiting gates per goal when seeding them. */
    gatesPerGoal: number;
  };
  sessions: {
    /** The measurements to run, in the order they run. */
    measurements: SessionMeasurement[];
    /** Files in the generated repository the start overhead is measured on. */
    repoFiles: number;
    /** Samples of each of: a bare `git worktree add`, a task's start. */
    startSamples: number;
    /** Concurrent sessions in the log throughput measurement. */
    logSessions: number;
    /** Lines each of them prints. */
    logLinesPerSession: number;
    /** Where the repositories and worktrees go (BENCH_SESSION_DIR); null: /dev/shm if there is one, else the OS temp dir. */
    dir: string | null;
    /** Independent spawned tasks in the goal whose drain is timed, each committing a file of its own. */
    spawnedTasks: number;
    /** The runner's max sessions (ARBOR_MAX_SESSIONS) while they drain. */
    spawnedSessions: number;
  };
  scale: {
    /** Merges timed per kind of repository (local path, file:// remote). */
    merges: number;
  };
  load: {
    /** How long the load runs. */
    seconds: number;
    /** Sessions printing as fast as they can. */
    sessions: number;
    /** Clients following GET /api/events as Server-Sent Events. */
    sseClients: number;
    /** Signals posted per second (each resolving a gate of its own). */
    signalsPerSecond: number;
    /** /healthz requests per second. */
    healthzPerSecond: number;
  };
  peers: {
    /** Rounds of (Arbor, graphile-worker, graphile-worker batched, pg-boss), each system once per round. */
    rounds: number;
  };
  /** The niceness agents of the sessions and load parts run at (BENCH_AGENT_NICE; the server's default otherwise). */
  agentNice: number;
  /** BENCH_PROFILE=1: time every statement and print where each measurement spent its time. */
  profile: boolean;
  /** Under BENCH_PROFILE: statements (nested ones in the dispatch functions too) slower than this have their plans logged (BENCH_EXPLAIN_MS). */
  explainSlowMs: number;
  /** Set when a BENCH_* variable changed a size, so the reader knows the figures are not the standard ones. */
  overridden: string[];
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const overridden: string[] = [];
  const int = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
    if (value !== fallback) overridden.push(`${name}=${value}`);
    return value;
  };
  return {
    parts: readSubset('BENCH_ONLY', env.BENCH_ONLY, BENCH_PARTS, DEFAULT_PARTS, overridden),
    parallelTasks: int('BENCH_PARALLEL', 10_000, 1),
    parallelMaxParallel: int('BENCH_MAX_PARALLEL', 1_000, 1),
    chainTasks: int('BENCH_CHAIN', 1_000, 2),
    warmupTasks: int('BENCH_WARMUP', 50, 0),
    historyTasks: int('BENCH_HISTORY', 1_000_000, 0),
    historyTasksPerGoal: int('BENCH_HISTORY_PER_GOAL', 10_000, 1),
    goalTimeoutMs: int('BENCH_GOAL_TIMEOUT_MS', 600_000, 1_000),
    signals: {
      resolves: int('BENCH_SIGNAL_RESOLVES', 1_000, 1),
      warmup: int('BENCH_SIGNAL_WARMUP', 100, 0),
      waitingGates: int('BENCH_SIGNAL_GATES', 100_000, 0),
      baselineGates: int('BENCH_SIGNAL_BASELINE_GATES', 100, 0),
      gatesPerGoal: int('BENCH_SIGNAL_GATES_PER_GOAL', 1_000, 1),
    },
    sessions: {
      measurements: readSubset('BENCH_SESSION_ONLY', env.BENCH_SESSION_ONLY, SESSION_MEASUREMENTS, SESSION_MEASUREMENTS, overridden),
      repoFiles: int('BENCH_SESSION_REPO_FILES', 10_000, 1),
      startSamples: int('BENCH_SESSION_STARTS', 15, 1),
      logSessions: int('BENCH_SESSION_LOG_SESSIONS', 20, 1),
      logLinesPerSession: int('BENCH_SESSION_LOG_LINES', 50_000, 1),
      dir: env.BENCH_SESSION_DIR ? env.BENCH_SESSION_DIR : null,
      spawnedTasks: int('BENCH_SPAWNED_TASKS', 60, 1),
      spawnedSessions: int('BENCH_SPAWNED_SESSIONS', 6, 1),
    },
    scale: {
      merges: int('BENCH_SCALE_MERGES', 50, 1),
    },
    load: {
      seconds: int('BENCH_LOAD_SECONDS', 60, 1),
      sessions: int('BENCH_LOAD_SESSIONS', 20, 0),
      sseClients: int('BENCH_LOAD_SSE_CLIENTS', 200, 0),
      signalsPerSecond: int('BENCH_LOAD_SIGNALS_PER_S', 50, 1),
      healthzPerSecond: int('BENCH_LOAD_HEALTHZ_PER_S', 20, 1),
    },
    peers: {
      rounds: int('BENCH_PEERS_ROUNDS', 3, 1),
    },
    agentNice: Math.min(int('BENCH_AGENT_NICE', DEFAULT_AGENT_NICE, 0), 19),
    profile: env.BENCH_PROFILE === '1',
    explainSlowMs: int('BENCH_EXPLAIN_MS', 100, 0),
    overridden,
  };
}

/** A comma-separated pick out of `all` (`variable`'s value); unset: `defaults`. */
function readSubset<T extends string>(variable: string, raw: string | undefined, all: readonly T[], defaults: readonly T[], overridden: string[]): T[] {
  if (raw === undefined || raw.trim() === '') return [...defaults];
  const named = raw.split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = named.filter((p) => !(all as readonly string[]).includes(p));
  if (unknown.length > 0 || named.length === 0) {
    throw new Error(`${variable} must list some of ${all.join(', ')}; got "${raw}"`);
  }
  overridden.push(`${variable}=${named.join(',')}`);
  // Always in the standard order, whatever order they were named in.
  return all.filter((p) => named.includes(p));
}
