import type { Db } from '../../db/database.js';
import type { NotificationListener } from '../../db/notification-listener.js';
import type { Logger } from '../../logger.js';
import { eventHorizon, openEventWriters, readEvents, type EventRow } from '../../store/event-log.js';
import { toEventJson } from './events.schemas.js';

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
 * One feed serves all of an app's streams: one horizon query and one read of
 * the new events per change, not one per client. Each event is serialized
 * once into its SSE frame and kept in a bounded window of recent frames that
 * every stream following live takes from; a stream further behind (catching
 * up from Last-Event-ID) reads the table itself. It listens only while
 * someone is subscribed.
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

/** Recent frames kept for the streams following live. */
const WINDOW_FRAMES = 4_096;
/** Rows per read when the feed takes in a horizon move. */
const READ_PAGE = 1_000;

export type HorizonListener = (horizon: bigint) => void;

/** An event as an SSE frame, exactly as hono's writeSSE would write it (the JSON has no line breaks). */
export function eventFrame(row: EventRow): string {
  return `event: ${row.type}\ndata: ${JSON.stringify(toEventJson(row))}\nid: ${row.id}\n\n`;
}

interface Frame {
  id: bigint;
  goalId: string | null;
  text: string;
}

export class EventFeed {
  private readonly listeners = new Set<HorizonListener>();
  private readonly options: EventFeedOptions;
  private published = 0n;
  private running = false;
  private again = false;
  private pollTimer: NodeJS.Timeout | null = null;
  /** Frames of every event with windowFrom < id <= published, oldest first; windowFrom null: no window yet. */
  private frames: Frame[] = [];
  private windowFrom: bigint | null = null;

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

  /**
   * The frames of events with after < id <= upTo (of one goal, if given), or
   * null when the window does not cover that range: then the caller reads the
   * table.
   */
  framesBetween(after: bigint, upTo: bigint, goalId?: string): string[] | null {
    if (this.windowFrom === null || after < this.windowFrom || upTo > this.published) return null;
    const out: string[] = [];
    // Frames are in id order: find the first after `after` by bisection.
    let lo = 0;
    let hi = this.frames.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.frames[mid]!.id <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.frames.length; i++) {
      const frame = this.frames[i]!;
      if (frame.id > upTo) break;
      if (goalId === undefined || frame.goalId === goalId) out.push(frame.text);
    }
    return out;
  }

  /** Reads and serializes the events published < id <= horizon once, for every stream. */
  private async extendWindow(horizon: bigint): Promise<void> {
    if (this.windowFrom === null) {
      // Just started following: the window begins here (nobody is behind it yet who would not read the table anyway).
      this.windowFrom = horizon;
      this.frames = [];
      return;
    }
    let cursor = this.published;
    const added: Frame[] = [];
    while (cursor < horizon) {
      const rows = await readEvents(this.db, { after: String(cursor), upTo: String(horizon), limit: READ_PAGE });
      for (const row of rows) added.push({ id: BigInt(row.id), goalId: row.goalId, text: eventFrame(row) });
      if (added.length > WINDOW_FRAMES) {
        // A burst larger than the window: start it afresh at the horizon; streams behind it read the table.
        this.windowFrom = horizon;
        this.frames = [];
        return;
      }
      cursor = rows.length === READ_PAGE ? BigInt(rows[rows.length - 1]!.id) : horizon;
    }
    this.frames.push(...added);
    const excess = this.frames.length - WINDOW_FRAMES;
    if (excess > 0) {
      this.windowFrom = this.frames[excess - 1]!.id;
      this.frames = this.frames.slice(excess);
    }
  }

  private stop(): void {
    this.windowFrom = null;
    this.frames = [];
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
          await this.extendWindow(horizon);
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
