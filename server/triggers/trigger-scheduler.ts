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
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  /** Slots this instance has seen settled: no need to ask the database again. */
  private readonly settled = new Map<string, string>();
  private readonly now: () => Date;

  constructor(
    private readonly deps: TriggerDeps,
    private readonly options: TriggerSchedulerOptions,
  ) {
    this.now = options.now ?? (() => new Date());
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
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((err) => this.deps.logger.error({ err }, 'schedule triggers: tick failed'))
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
