import type { NotificationListener } from './db/notification-listener.js';
import type { Logger } from './logger.js';

/**
 * Work run when something may have changed: on each change notification
 * (coalesced: at most one run per `minGapMs` while they keep coming), every
 * `pollMs` as the fallback, never two runs at once, and once more after a run
 * if it was woken meanwhile. `stop()` waits for a run under way.
 */
export class WakeableLoop {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly work: () => Promise<unknown>,
    private readonly options: { pollMs: number; minGapMs: number; notifications?: NotificationListener | null },
    private readonly logger: Logger,
    /** What the work is, for the log line when a run fails. */
    private readonly what: string,
  ) {}

  start(): void {
    this.stopped = false;
    this.options.notifications?.on('notification', this.wake);
    this.options.notifications?.on('reconnected', this.wake);
    this.timer = setInterval(this.wake, this.options.pollMs);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.options.notifications?.off('notification', this.wake);
    this.options.notifications?.off('reconnected', this.wake);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  readonly wake = (): void => {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  };

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.work();
      } catch (err) {
        // The work keeps its state in the database: the next wake-up takes it up again.
        this.logger.warn({ err: (err as Error).message }, `${this.what} failed`);
      }
      if (this.again && !this.stopped) await new Promise((resolve) => setTimeout(resolve, this.options.minGapMs));
    } while (this.again && !this.stopped);
  }
}
