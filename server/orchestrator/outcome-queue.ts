import { isDatabaseUnavailable } from '../db/availability.js';
import type { Db } from '../db/database.js';
import { unrecordableOutcome, type RetryPolicy } from '../domain/task-rules.js';
import type { Logger } from '../logger.js';
import { completeTasks, type Completion, type CompletionReport } from '../store/completion.js';

/** Largest number of completions applied in one transaction. */
const BATCH = 500;

/**
 * Outcomes of finished runs on their way into the database. They are recorded
 * in batches (a batch costs a handful of statements, not a handful per task);
 * none is ever dropped because the database hiccuped, and one the database
 * refuses costs its own task alone.
 */
export class OutcomeQueue {
  private readonly pending: Completion[] = [];

  constructor(
    private readonly deps: { db: Db; logger: Logger },
    private readonly options: { owner: string; retry: RetryPolicy; onReport(report: CompletionReport): void },
  ) {}

  get size(): number {
    return this.pending.length;
  }

  push(completion: Completion): void {
    this.pending.push(completion);
  }

  /** Forgets what is queued (a stopping instance hands those tasks back instead). */
  clear(): void {
    this.pending.length = 0;
  }

  /**
   * Records the next batch with `record` (which may do more in the same
   * transaction, such as claiming what the batch released) and returns its
   * answer; undefined when the batch had to be recorded another way.
   * Throws, keeping the batch, while the database is unavailable.
   */
  async recordNext<T extends { report: CompletionReport }>(record: (batch: Completion[]) => Promise<T>): Promise<T | undefined> {
    if (this.pending.length === 0) return undefined;
    const batch = this.pending.splice(0, BATCH);
    try {
      const answer = await record(batch);
      this.options.onReport(answer.report);
      return answer;
    } catch (err) {
      await this.recordSeparately(batch, err);
      return undefined;
    }
  }

  /** Records everything queued. Throws, keeping what is left, while the database is unavailable. */
  async flush(): Promise<void> {
    while (this.pending.length > 0) {
      await this.recordNext(async (batch) => ({ report: await this.complete(batch) }));
    }
  }

  private complete(batch: Completion[]): Promise<CompletionReport> {
    return completeTasks(this.deps.db, this.options.owner, batch, this.options.retry);
  }

  /**
   * A batch the database refused. While it is unavailable the batch is kept
   * for the next try. Otherwise one outcome holds something it cannot store:
   * each is recorded on its own, and one that still fails is recorded as its
   * task's failure instead.
   */
  private async recordSeparately(batch: Completion[], err: unknown): Promise<void> {
    if (isDatabaseUnavailable(err)) {
      this.pending.unshift(...batch);
      throw err;
    }
    for (let i = 0; i < batch.length; i++) {
      const completion = batch[i]!;
      try {
        this.options.onReport(await this.complete([completion]));
        continue;
      } catch (refused) {
        if (isDatabaseUnavailable(refused)) {
          this.pending.unshift(...batch.slice(i));
          throw refused;
        }
        const reason = refused instanceof Error ? refused.message : String(refused);
        this.deps.logger.error({ err: refused, task: completion.taskId }, 'an outcome could not be recorded; recording the task as failed');
        try {
          this.options.onReport(await this.complete([{ ...completion, outcome: unrecordableOutcome(completion.outcome, reason) }]));
        } catch (again) {
          if (isDatabaseUnavailable(again)) {
            this.pending.unshift(...batch.slice(i));
            throw again;
          }
          // Nothing of it can be written: its lease runs out and the task is retried.
          this.deps.logger.error({ err: again, task: completion.taskId }, 'not even its failure could be recorded');
        }
      }
    }
  }
}
