import { RepeatingTask } from '../repeating-task.js';
import { listScheduleTriggers } from '../store/triggers.js';
import { dueSlot } from './cron-slots.js';
import { startTrigger, type TriggerDeps, type TriggerStart } from './trigger-start.js';

export interface TriggerSchedulerOptions {
  /** How often due slots are looked for; a slot starts within this much of its time. */
  intervalMs: number;
  /** The clock; tests pass their own. */
  now?: () => Date;
}

/**
 * Starts the goals of schedule triggers when their slot comes. Any number of
 * instances may run one on the same database: each slot is claimed in
 * Postgres, so it starts exactly one goal whichever instance gets there first.
 */
export class TriggerScheduler {
  private readonly repeating: RepeatingTask;
  /** Slots this instance has seen settled: no need to ask the database again. */
  private readonly settled = new Map<string, string>();
  private readonly now: () => Date;

  constructor(
    private readonly deps: TriggerDeps,
    private readonly options: TriggerSchedulerOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.repeating = new RepeatingTask(() => this.tick(), options.intervalMs, deps.logger, 'schedule triggers: tick');
  }

  /** Starts every due slot not started yet; returns what each start did. */
  async tick(): Promise<TriggerStart[]> {
    const now = this.now();
    const starts: TriggerStart[] = [];
    for (const trigger of await listScheduleTriggers(this.deps.db)) {
      let slot: Date | null;
      try {
        slot = dueSlot(trigger.cron!, trigger.timeZone ?? 'UTC', now, trigger.createdAt);
      } catch (err) {
        this.deps.logger.warn({ trigger: trigger.id, err: (err as Error).message }, 'schedule trigger has a cron that no longer parses');
        continue;
      }
      if (!slot) continue;
      const key = slot.toISOString();
      if (this.settled.get(trigger.id) === key) continue;
      const start = await startTrigger(this.deps, trigger, key);
      this.settled.set(trigger.id, key);
      starts.push(start);
    }
    return starts;
  }

  start(): void {
    this.repeating.start();
  }

  async stop(): Promise<void> {
    await this.repeating.stop();
  }
}
