import PgBoss from 'pg-boss';
import type { PeerFigures } from './peers.js';

/**
 * pg-boss 10 on a database of its own. It has no LISTEN wake-up of its own,
 * only polling (0.5 s at the shortest), so each handler wakes its worker with
 * notifyWorker() after a batch, as an application that cares about latency
 * would: a worker that found jobs fetches again at once, and a chain's hop
 * wakes the worker for the job it just sent. Four workers fetching 100 jobs
 * at a time for the wide run; the jobs do nothing.
 */

const QUEUE = 'noop';
const WORKERS = 4;

export async function measurePgBoss(url: string, sizes: { tasks: number; chain: number; warmup: number }): Promise<PeerFigures> {
  const boss = new PgBoss({ connectionString: url, schedule: false, supervise: false, max: WORKERS + 4 });
  let failure: Error | null = null;
  boss.on('error', (err: Error) => {
    failure ??= err;
  });
  await boss.start();
  await boss.createQueue(QUEUE);
  let onJobs: (jobs: PgBoss.Job<{ i: number; of: number }>[], wake: () => void) => Promise<void> = async () => {};
  const workers: string[] = [];
  for (let w = 0; w < WORKERS; w++) {
    let id = '';
    id = await boss.work<{ i: number; of: number }>(QUEUE, { batchSize: 100, pollingIntervalSeconds: 0.5 }, async (jobs) => {
      await onJobs(jobs, () => boss.notifyWorker(id));
    });
    workers.push(id);
  }
  const wakeAll = () => workers.forEach((id) => boss.notifyWorker(id));
  try {
    const parallel = async (n: number): Promise<number> => {
      let done = 0;
      const all = new Promise<void>((resolve) => {
        onJobs = async (jobs, wake) => {
          done += jobs.length;
          if (done >= n) resolve();
          else wake();
        };
      });
      const started = performance.now();
      for (let i = 0; i < n; i += 1000) {
        await boss.insert(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: QUEUE, data: { i: 0, of: 0 } })));
        wakeAll();
      }
      await all;
      return performance.now() - started;
    };
    const chain = async (hops: number): Promise<number> => {
      const all = new Promise<void>((resolve) => {
        onJobs = async (jobs, wake) => {
          for (const job of jobs) {
            if (job.data.i + 1 < job.data.of) {
              await boss.send(QUEUE, { i: job.data.i + 1, of: job.data.of });
              wake();
            } else resolve();
          }
        };
      });
      const started = performance.now();
      await boss.send(QUEUE, { i: 0, of: hops });
      wakeAll();
      await all;
      return performance.now() - started;
    };
    await parallel(sizes.warmup);
    await chain(sizes.warmup);
    const parallelMs = await parallel(sizes.tasks);
    const chainMs = await chain(sizes.chain);
    if (failure) throw failure;
    return { parallelTasksPerSecond: sizes.tasks / (parallelMs / 1000), chainMsPerHop: chainMs / sizes.chain };
  } finally {
    await boss.stop({ graceful: false, wait: true, timeout: 5_000 });
  }
}
