/**
 * What the bench measures, and how big. The defaults are the published
 * figures; the BENCH_* variables shrink them for a quick run while changing
 * code (figure names stay the same so that tools reading the output do not
 * care, and the sizes actually used are logged to stderr).
 */

export interface BenchSettings {
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
  /** BENCH_PROFILE=1: time every statement and print where each measurement spent its time. */
  profile: boolean;
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
    parallelTasks: int('BENCH_PARALLEL', 10_000, 1),
    parallelMaxParallel: int('BENCH_MAX_PARALLEL', 1_000, 1),
    chainTasks: int('BENCH_CHAIN', 1_000, 2),
    warmupTasks: int('BENCH_WARMUP', 50, 0),
    historyTasks: int('BENCH_HISTORY', 1_000_000, 0),
    historyTasksPerGoal: int('BENCH_HISTORY_PER_GOAL', 10_000, 1),
    goalTimeoutMs: int('BENCH_GOAL_TIMEOUT_MS', 600_000, 1_000),
    profile: env.BENCH_PROFILE === '1',
    overridden,
  };
}
