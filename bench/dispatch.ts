import type { RunRecord, ScriptedRunner } from '../test/support/scripted-runner.js';
import { describeDelta, type StatementCounter } from './counters.js';
import { note, seconds } from './output.js';
import { allRunsReturned, createGoal, leafTasks, waitForGoalEnd, withOrchestrator, type Rig } from './rig.js';

/**
 * The dispatch figures: how fast a wide goal drains (throughput), and how
 * long a chain waits between one task's end and the next one's start
 * (latency). Tasks finish the moment they start, so both measure only the
 * orchestrator and the database.
 */

export interface ParallelResult {
  tasksPerSecond: number;
}

/** A goal of `tasks` independent tasks, timed from planning it to its roll-up to succeeded. */
export async function measureParallel(
  rig: Rig,
  counter: StatementCounter,
  options: { tasks: number; maxParallel: number; timeoutMs: number },
): Promise<ParallelResult> {
  const specs = leafTasks(options.tasks, 'p');
  return withOrchestrator(rig, 'parallel', async (runner) => {
    counter.discard();
    const before = counter.snapshot();
    const start = performance.now();
    const goalId = await createGoal(rig.db, 'bench parallel', specs, 'parallel', options.maxParallel);
    const created = performance.now();
    const end = await waitForGoalEnd(rig, goalId, options.timeoutMs, allRunsReturned(runner, goalId, options.tasks));
    const after = counter.snapshot();
    if (end.status !== 'succeeded') throw new Error(`parallel goal ended ${end.status}`);
    expectOneRunEach(runner, goalId, options.tasks);

    const runs = runner.runs.filter((r) => r.goalId === goalId);
    const firstStart = runs.reduce((min, r) => Math.min(min, r.startedAt), Infinity);
    note(
      `parallel: ${options.tasks} tasks in ${seconds(end.at - start)} ` +
        `(plan+insert ${seconds(created - start)}, insert to first dispatch ${(firstStart - created).toFixed(0)} ms, ` +
        `dispatching ${seconds(end.at - firstStart)}); most running at once ${runner.maxConcurrent}`,
    );
    note(`parallel: ${describeDelta(before, after, options.tasks / 1000, '1000 tasks')}`);
    counter.report('parallel');
    return { tasksPerSecond: options.tasks / ((end.at - start) / 1000) };
  });
}

export interface ChainResult {
  meanMs: number;
}

/**
 * A goal of `tasks` sequential tasks: the mean gap between a run returning its
 * outcome and the next run starting — recording the outcome, releasing the
 * dependent, claiming it, handing it to the runner. A short unmeasured chain
 * goes first so that the JIT and Postgres' plan cache are warm for every
 * chain alike, with and without history.
 */
export async function measureChain(
  rig: Rig,
  counter: StatementCounter,
  label: string,
  options: { tasks: number; warmup: number; timeoutMs: number },
): Promise<ChainResult> {
  return withOrchestrator(rig, label, async (runner) => {
    if (options.warmup > 0) {
      const warmupId = await createGoal(rig.db, `bench ${label} warm-up`, leafTasks(options.warmup, 'w'), 'sequential', 1);
      const warm = await waitForGoalEnd(rig, warmupId, options.timeoutMs, allRunsReturned(runner, warmupId, options.warmup));
      if (warm.status !== 'succeeded') throw new Error(`warm-up chain ended ${warm.status}`);
    }

    const specs = leafTasks(options.tasks, 'c');
    counter.discard();
    const before = counter.snapshot();
    const goalId = await createGoal(rig.db, `bench ${label}`, specs, 'sequential', 1);
    const end = await waitForGoalEnd(rig, goalId, options.timeoutMs, allRunsReturned(runner, goalId, options.tasks));
    const after = counter.snapshot();
    if (end.status !== 'succeeded') throw new Error(`${label} chain ended ${end.status}`);
    const runs = expectOneRunEach(runner, goalId, options.tasks);

    // Runs start in chain order: run i+1 can only be claimed once run i's success is recorded.
    const gaps: number[] = [];
    for (let i = 0; i + 1 < runs.length; i++) gaps.push(runs[i + 1]!.startedAt - runs[i]!.endedAt!);
    const meanMs = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sorted = [...gaps].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    note(
      `${label}: ${options.tasks} chained tasks in ${seconds(end.at - runs[0]!.startedAt)}; gap mean ${meanMs.toFixed(2)} ms, ` +
        `p50 ${at(0.5).toFixed(2)}, p90 ${at(0.9).toFixed(2)}, p99 ${at(0.99).toFixed(2)}, max ${sorted.at(-1)!.toFixed(2)} ms`,
    );
    note(`${label}: ${describeDelta(before, after, options.tasks, 'task')}`);
    counter.report(label);
    return { meanMs };
  });
}

/** A retry or a double dispatch would make the figure meaningless: insist on exactly one successful run per task. */
function expectOneRunEach(runner: ScriptedRunner, goalId: string, tasks: number): RunRecord[] {
  const runs = runner.runs.filter((r) => r.goalId === goalId);
  const bad = runs.filter((r) => r.outcome?.kind !== 'succeeded' || r.attempt !== 1);
  if (runs.length !== tasks || bad.length > 0 || new Set(runs.map((r) => r.taskId)).size !== tasks) {
    throw new Error(`expected ${tasks} single successful runs, saw ${runs.length} runs (${bad.length} not a first success)`);
  }
  return runs;
}
