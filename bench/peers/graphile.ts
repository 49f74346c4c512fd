import { Logger, makeWorkerUtils, run, type Runner, type Task } from 'graphile-worker';
import type { PeerFigures } from './peers.js';

/**
 * graphile-worker 0.17 on a database of its own: `unbatched` with the
 * settings its documentation starts from (concurrency 24, LISTEN/NOTIFY
 * wake-ups, each job fetched and completed on its own), `batched` with its
 * local queue (jobs locked and fetched 500 at a time) and completions batched.
 * The jobs do nothing; a chain's job adds the next hop before it returns.
 */

export type GraphileMode = 'unbatched' | 'batched';

/** Silences graphile-worker's own logging (its info lines would mix into the bench's stderr). */
const quiet = new Logger(() => () => {});

export async function measureGraphile(url: string, mode: GraphileMode, sizes: { tasks: number; chain: number; warmup: number }): Promise<PeerFigures> {
  const utils = await makeWorkerUtils({ connectionString: url, logger: quiet });
  await utils.migrate();
  let onJob: (payload: { i: number; of: number }, addJob: (i: number) => Promise<void>) => Promise<void> = async () => {};
  const taskList: Record<string, Task> = {
    noop: async (payload, helpers) => onJob(payload as { i: number; of: number }, async (i) => void (await helpers.addJob('noop', { i, of: (payload as { of: number }).of }))),
  };
  const runner: Runner = await run({
    taskList,
    logger: quiet,
    noHandleSignals: true,
    preset: {
      worker: {
        connectionString: url,
        concurrentJobs: 24,
        maxPoolSize: 26,
        pollInterval: 1000,
        ...(mode === 'batched' ? { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } : {}),
      },
    },
  });
  try {
    const parallel = async (n: number): Promise<number> => {
      let done = 0;
      const all = new Promise<void>((resolve) => {
        onJob = async () => {
          if (++done === n) resolve();
        };
      });
      const started = performance.now();
      for (let i = 0; i < n; i += 1000) {
        await utils.addJobs(Array.from({ length: Math.min(1000, n - i) }, () => ({ identifier: 'noop', payload: { i: 0, of: 0 } })));
      }
      await all;
      return performance.now() - started;
    };
    const chain = async (hops: number): Promise<number> => {
      const all = new Promise<void>((resolve) => {
        onJob = async ({ i, of }, addJob) => {
          if (i + 1 < of) await addJob(i + 1);
          else resolve();
        };
      });
      const started = performance.now();
      await utils.addJob('noop', { i: 0, of: hops });
      await all;
      return performance.now() - started;
    };
    await parallel(sizes.warmup);
    await chain(sizes.warmup);
    const parallelMs = await parallel(sizes.tasks);
    const chainMs = await chain(sizes.chain);
    return { parallelTasksPerSecond: sizes.tasks / (parallelMs / 1000), chainMsPerHop: chainMs / sizes.chain };
  } finally {
    await runner.stop();
    await utils.release();
  }
}
