import type { Db } from '../../db/database.js';
import type { NotificationListener } from '../../db/notification-listener.js';
import type { Logger } from '../../logger.js';
import { eventHorizon, openEventWriters } from '../../store/event-log.js';

/**
 * How far the event log can be read without ever skipping an event, and who
 * wants to hear when that point moves.
 *
 * Ids are drawn at insert but seen at commit, so a transaction holding id 6
 * may commit after id 7 is visible. Instead of delaying every event by a
 * guessed safety window, the horizon waits for exactly the transactions that
 * were writing events when the newest id was read (usually none, or a few
 * milliseconds' worth); everything up to that id is then visible or rolled
 * back for good. A follower that only reads up to the horizon never skips.
 *
 * One feed serves all of an app's streams: one horizon query per change, not
 * one per client. It listens only while someone is subscribed.
 */

export interface EventFeedOptions {
  /** Polling interval when there are no change notifications. */
  pollMs: number;
  /** A writer open this long is logged: streams wait for it rather than skip its events. */
  slowWriterMs: number;
}

const DEFAULTS: EventFeedOptions = { pollMs: 1_000, slowWriterMs: 10_000 };

/** Coalesces bursts of notifications: at most one horizon query per this long while changes keep coming. */
const MIN_GAP_MS = 25;

export type HorizonListener = (horizon: bigint) => void;

export class EventFeed {
  private readonly listeners = new Set<HorizonListener>();
  private readonly options: EventFeedOptions;
  private published = 0n;
  private running = false;
  private again = false;
  private pollTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly notifications?: NotificationListener,
    options: Partial<EventFeedOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /**
   * The newest event id that is safe to read up to. Resolves null if
   * `maxWaitMs` passes (or `signal` aborts) while writers are still open.
   */
  async horizon(limits: { maxWaitMs?: number; signal?: AbortSignal } = {}): Promise<bigint | null> {
    const started = Date.now();
    const { newest, writers } = await eventHorizon(this.db);
    let open = writers;
    let delay = 5;
    let warned = false;
    while (open.length > 0) {
      const waited = Date.now() - started;
      if (limits.signal?.aborted || (limits.maxWaitMs !== undefined && waited >= limits.maxWaitMs)) return null;
      if (!warned && waited >= this.options.slowWriterMs) {
        warned = true;
        this.logger.warn({ writers: open, waited_ms: waited }, 'event streams are waiting for a transaction that has been writing events for long');
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 200);
      open = await openEventWriters(this.db, open);
    }
    return BigInt(newest);
  }

  /** Calls `listener` with each new horizon until the returned function is called. */
  subscribe(listener: HorizonListener): () => void {
    if (this.listeners.size === 0) this.start();
    this.listeners.add(listener);
    return () => {
      if (!this.listeners.delete(listener)) return;
      if (this.listeners.size === 0) this.stop();
    };
  }

  private start(): void {
    if (this.notifications) {
      this.notifications.on('notification', this.onNotification);
      this.notifications.on('reconnected', this.wake);
    } else {
      this.pollTimer = setInterval(this.wake, this.options.pollMs);
      this.pollTimer.unref();
    }
  }

  private stop(): void {
    this.notifications?.off('notification', this.onNotification);
    this.notifications?.off('reconnected', this.wake);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  /** The payload is the newest id of the committing transaction: nothing to do if it is already behind us. */
  private readonly onNotification = (payload: string): void => {
    if (/^\d{1,19}$/.test(payload) && BigInt(payload) <= this.published) return;
    this.wake();
  };

  private readonly wake = (): void => {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.run();
  };

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        const horizon = await this.horizon();
        if (horizon !== null && horizon > this.published) {
          this.published = horizon;
          for (const listener of [...this.listeners]) listener(horizon);
        }
        if (this.again) await new Promise((resolve) => setTimeout(resolve, MIN_GAP_MS));
      } while (this.again && this.listeners.size > 0);
    } catch (err) {
      // Streams keep their place; the changes that woke us are still to be read.
      this.logger.warn({ err: (err as Error).message }, 'reading the event horizon failed');
      if (this.listeners.size > 0) setTimeout(this.wake, this.options.pollMs).unref();
    } finally {
      this.running = false;
    }
  }
}
