import { NotificationListener } from '../../server/db/notification-listener.js';
import { EVENTS_CHANNEL } from '../../server/store/events.js';
import { withPartCleanup, type BenchContext } from '../context.js';
import { openBenchDatabase } from '../database.js';
import { measureChain, measureParallel } from '../dispatch.js';
import { figure, note, seconds } from '../output.js';
import type { Rig } from '../rig.js';
import { median } from '../stats.js';
import { measureGraphile } from './graphile.js';
import { measurePgBoss } from './pgboss.js';

/**
 * `BENCH_ONLY=peers`: Arbor's dispatch beside the job queues a user would
 * pick instead, on the same Postgres, in alternation — each round runs
 * Arbor, graphile-worker unbatched, graphile-worker batched and pg-boss one
 * after another, each on a fresh database of its own, so whatever else the
 * machine does weighs on all of them alike. Medians over the rounds:
 *
 *   peers.<system>.parallel_tasks_per_s  BENCH_PARALLEL (10,000) no-op tasks, enqueue to last completion
 *   peers.<system>.chain_ms_per_hop      a chain of BENCH_CHAIN (1,000) hops, each enqueuing the next
 *   peers.ratio.*                        Arbor's figure over the peer's (parallel: >1 is Arbor faster; chain: <1 is)
 *
 * Arbor's figures are the dispatch part's own (measureParallel, measureChain:
 * a goal of independent tasks, a goal of sequential ones, with the in-process
 * runner). Arbor does more per task than the queues (a tree, dependency
 * edges, limits, leases with fencing, roll-ups, events); the ratios say what
 * that costs. The peers are devDependencies, used by the bench only.
 */

export interface PeerFigures {
  parallelTasksPerSecond: number;
  chainMsPerHop: number;
}

const SYSTEMS = ['arbor', 'graphile', 'graphile_batched', 'pgboss'] as const;
type System = (typeof SYSTEMS)[number];
const WARMUP_JOBS = 200;

export async function measurePeers(ctx: BenchContext): Promise<void> {
  const { settings } = ctx;
  const sizes = { tasks: settings.parallelTasks, chain: settings.chainTasks, warmup: WARMUP_JOBS };
  const results = new Map<System, PeerFigures[]>(SYSTEMS.map((s) => [s, []]));
  for (let round = 1; round <= settings.peers.rounds; round++) {
    for (const system of SYSTEMS) {
      const began = performance.now();
      const figures = await withPartCleanup(ctx, `peers ${system}`, async (cleanup) => {
        const { db, url } = await openBenchDatabase(cleanup, ctx.adminUrl, ctx.logger, ctx.counter, { label: `peers-${system}` });
        if (system === 'graphile') return measureGraphile(url, 'unbatched', sizes);
        if (system === 'graphile_batched') return measureGraphile(url, 'batched', sizes);
        if (system === 'pgboss') return measurePgBoss(url, sizes);
        const listener = new NotificationListener(url, EVENTS_CHANNEL, ctx.logger);
        await listener.start();
        cleanup.add('stop the notification listener', () => listener.stop());
        const rig: Rig = { db, cleanup, listener, logger: ctx.logger };
        const timeoutMs = settings.goalTimeoutMs;
        const chain = await measureChain(rig, ctx.counter, 'peers-chain', { tasks: sizes.chain, warmup: settings.warmupTasks, timeoutMs });
        const parallel = await measureParallel(rig, ctx.counter, { tasks: sizes.tasks, maxParallel: settings.parallelMaxParallel, timeoutMs });
        return { parallelTasksPerSecond: parallel.tasksPerSecond, chainMsPerHop: chain.meanMs };
      });
      results.get(system)!.push(figures);
      note(
        `peers: round ${round} ${system}: ${figures.parallelTasksPerSecond.toFixed(0)} tasks/s, ` +
          `chain ${figures.chainMsPerHop.toFixed(2)} ms/hop (${seconds(performance.now() - began)})`,
      );
    }
  }
  const medians = new Map<System, PeerFigures>();
  for (const system of SYSTEMS) {
    const runs = results.get(system)!;
    const m = { parallelTasksPerSecond: median(runs.map((r) => r.parallelTasksPerSecond)), chainMsPerHop: median(runs.map((r) => r.chainMsPerHop)) };
    medians.set(system, m);
    figure(`peers.${system}.parallel_tasks_per_s`, m.parallelTasksPerSecond, 'tasks/s', 0);
    figure(`peers.${system}.chain_ms_per_hop`, m.chainMsPerHop, 'ms', 3);
  }
  const arbor = medians.get('arbor')!;
  for (const system of SYSTEMS.filter((s) => s !== 'arbor')) {
    const peer = medians.get(system)!;
    figure(`peers.ratio.parallel_vs_${system}`, arbor.parallelTasksPerSecond / peer.parallelTasksPerSecond, 'x', 2);
    figure(`peers.ratio.chain_vs_${system}`, arbor.chainMsPerHop / peer.chainMsPerHop, 'x', 2);
  }
}
