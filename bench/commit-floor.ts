import { sql } from 'kysely';
import type { Db } from '../server/db/database.js';
import { note } from './output.js';
import { summarize, describeSummary } from './stats.js';

/**
 * What one durable commit costs on this database, from this process: a
 * one-row INSERT in a transaction of its own, through the same pool the
 * dispatch figures use. A chain hop has to commit once (a task's success must
 * be on disk before its dependent runs), so this is the floor under
 * `dispatch.chain_1k`; on these VMs the WAL flush (fdatasync) alone has
 * measured 0.5-3 ms from day to day, which is why the chain figure moves with
 * it. Sampled half before and half after the chain it is compared with, so
 * both see the same machine.
 */
export async function measureCommitLatency(db: Db, samples: number): Promise<number[]> {
  await sql`CREATE TABLE IF NOT EXISTS bench_commit_probe (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`.execute(db);
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await sql`INSERT INTO bench_commit_probe DEFAULT VALUES`.execute(db);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

/** The mean of both halves (the chain's figure is a mean too), with a note of the spread. */
export function commitFloor(before: number[], after: number[]): number {
  const all = summarize([...before, ...after]);
  note(`commit floor: ${describeSummary(all)} (median before the chain ${summarize(before).p50.toFixed(2)} ms, after ${summarize(after).p50.toFixed(2)} ms)`);
  return all.mean;
}
