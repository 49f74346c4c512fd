import type { Logger } from '../server/logger.js';
import { Cleanup } from './cleanup.js';
import type { StatementCounter } from './counters.js';
import type { BenchSettings } from './settings.js';

/** What every part of the bench is given by run.ts. */
export interface BenchContext {
  cleanup: Cleanup;
  /** Admin URL of the Postgres server; each part makes its own databases on it. */
  adminUrl: string;
  logger: Logger;
  counter: StatementCounter;
  settings: BenchSettings;
  /**
   * Checks that failed without making a figure meaningless (lines lost, say):
   * the run goes on and prints its figures, then exits non-zero listing these.
   */
  failures: string[];
}

/**
 * Runs `work` with a cleanup of its own, taken down when the part ends (its
 * databases dropped, its servers closed, its temp dirs removed) so a later
 * part does not share the machine with them; a Ctrl-C during the part still
 * takes it down through the run's cleanup.
 */
export async function withPartCleanup<T>(ctx: BenchContext, label: string, work: (cleanup: Cleanup) => Promise<T>): Promise<T> {
  const part = new Cleanup();
  const done = ctx.cleanup.add(`the ${label} part`, () => part.run());
  try {
    return await work(part);
  } finally {
    await done();
  }
}
