import { isDatabaseUnavailable } from '../db/availability.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { appendSessionLogs, type LogLine } from '../store/sessions.js';
import type { OutputFlow } from './agent-process.js';

/**
 * Buffers a session's output and writes it in batches: an agent printing as
 * fast as it can must cost a few inserts a second, not one per line. One write
 * runs at a time, so lines reach the table in the order they were printed.
 *
 * Memory stays bounded whatever the agent prints:
 * - Backpressure first (OutputFlow): while the unwritten lines weigh more than
 *   the high-water mark the log asks the process to pause its pipes, so the
 *   agent blocks on write as it would with any slow reader, and releases them
 *   once the writes have brought it under half of that.
 * - A hold lasts while the database takes lines, however slowly; once no write
 *   has succeeded for `maxHoldMs` (an outage), output flows again and the oldest unwritten
 *   lines beyond `limitBytes` are dropped, counted, and recorded with the next
 *   write (the "[N earlier lines dropped]" marker). The first write that
 *   succeeds again restores backpressure.
 *
 * Writes of all the sessions on one database take turns: at most
 * WRITES_PER_DATABASE run at once, so twenty agents printing flat out hold
 * two connections, not the whole pool that resolves, API requests and
 * heartbeats need too. A session waiting for its turn keeps buffering, and its
 * write then takes everything buffered (bigger batches, fewer statements).
 *
 * A write that fails because the database cannot be reached keeps its lines
 * and is retried with backoff; one that fails for any other reason (the
 * statement itself) would fail again, so its lines are counted as dropped.
 */

export interface SessionLogOptions {
  maxLines: number;
  /** Buffered lines that start a write at once instead of after intervalMs. */
  batchLines?: number;
  intervalMs?: number;
  /** Unwritten output (estimated bytes) above which the producer is asked to pause. */
  highWaterBytes?: number;
  /** Unwritten output never exceeds this: beyond it the oldest unwritten lines are dropped and counted. */
  limitBytes?: number;
  /** The longest the producer is held paused while the database takes nothing. */
  maxHoldMs?: number;
  /** How long the final flush keeps retrying a database that cannot be reached. */
  finalFlushMs?: number;
  logger: Logger;
}

export interface SessionLogStats {
  /** Estimated bytes of unwritten lines now, and the most there ever were. */
  bufferedBytes: number;
  peakBufferedBytes: number;
  limitBytes: number;
  highWaterBytes: number;
  /** Times the producer was asked to pause. */
  holds: number;
  /** Lines dropped unwritten: buffer over its limit, or a write refused for a reason other than the connection. */
  droppedLines: number;
  /** Writes that failed because the database could not be reached (their lines kept for a retry). */
  failedWrites: number;
  /** Lines (and drop counts) the final flush could not store before it gave up. */
  lostLines: number;
}

export const SESSION_LOG_HIGH_WATER_BYTES = 2 * 1024 * 1024;
export const SESSION_LOG_LIMIT_BYTES = 16 * 1024 * 1024;
export const SESSION_LOG_MAX_HOLD_MS = 30_000;
export const SESSION_LOG_FINAL_FLUSH_MS = 60_000;

/**
 * What a buffered line costs: its characters (two bytes each at worst) and the
 * line object with its Date. The overhead matters for floods of short lines:
 * a 64 KiB pipe read of empty lines is 65,536 of them.
 */
const LINE_OVERHEAD_BYTES = 80;
/** One write stores at most this much (estimated), so a transaction stays short whatever is buffered. */
const MAX_WRITE_BYTES = 1024 * 1024;
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 5_000;

const lineBytes = (line: LogLine): number => LINE_OVERHEAD_BYTES + 2 * line.text.length;

/** Session log writes in flight at once on one database (one pool), whatever the number of sessions. */
const WRITES_PER_DATABASE = 2;

/** Turns to write, first come first served. */
class WriteTurns {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  take(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.active += 1;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.active -= 1;
          this.waiting.shift()?.();
        });
      };
      if (this.active < WRITES_PER_DATABASE) grant();
      else this.waiting.push(grant);
    });
  }
}

/** Keyed by the database handle the sessions share: turns are per pool, and go with it. */
const turnsByDatabase = new WeakMap<Db, WriteTurns>();

function writeTurns(db: Db): WriteTurns {
  let turns = turnsByDatabase.get(db);
  if (!turns) {
    turns = new WriteTurns();
    turnsByDatabase.set(db, turns);
  }
  return turns;
}

export class SessionLog implements OutputFlow {
  private readonly queue = new LineQueue();
  /** The lines of the write in flight: taken off the queue, still counted as buffered. */
  private writing: LogLine[] | null = null;
  private writingBytes = 0;
  private writeDone: Promise<void> = Promise.resolve();
  /** Dropped lines not yet recorded in the table. */
  private droppedUnrecorded = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private retryDelayMs = RETRY_FIRST_MS;
  /** Waiting for the database after a connection failure: no write until the retry timer fires. */
  private backingOff = false;

  private held = false;
  /** The hold lasted maxHoldMs: output flows and the limit drops lines until a write succeeds. */
  private overflowing = false;
  private holdTimer: NodeJS.Timeout | null = null;
  /** When a write last succeeded (performance.now()). */
  private lastStoredAt = -Infinity;
  private readonly releaseListeners = new Set<() => void>();
  private closed = false;

  private readonly highWaterBytes: number;
  private readonly limitBytes: number;
  private readonly counters = { peakBufferedBytes: 0, holds: 0, droppedLines: 0, failedWrites: 0, lostLines: 0 };

  constructor(
    private readonly db: Db,
    private readonly sessionId: string,
    private readonly options: SessionLogOptions,
  ) {
    this.highWaterBytes = options.highWaterBytes ?? SESSION_LOG_HIGH_WATER_BYTES;
    this.limitBytes = Math.max(options.limitBytes ?? SESSION_LOG_LIMIT_BYTES, this.highWaterBytes);
  }

  get holding(): boolean {
    return this.held;
  }

  onRelease(listener: () => void): () => void {
    this.releaseListeners.add(listener);
    return () => this.releaseListeners.delete(listener);
  }

  stats(): SessionLogStats {
    return {
      ...this.counters,
      bufferedBytes: this.bufferedBytes(),
      limitBytes: this.limitBytes,
      highWaterBytes: this.highWaterBytes,
    };
  }

  push(stream: LogLine['stream'], text: string): void {
    this.queue.push({ stream, text, at: new Date() });
    while (this.bufferedBytes() > this.limitBytes && this.queue.length > 0) {
      this.queue.shift();
      this.droppedUnrecorded += 1;
      this.counters.droppedLines += 1;
    }
    const buffered = this.bufferedBytes();
    if (buffered > this.counters.peakBufferedBytes) this.counters.peakBufferedBytes = buffered;
    if (!this.held && !this.overflowing && buffered > this.highWaterBytes) this.hold();
    if (this.queue.length >= (this.options.batchLines ?? 500)) this.writeSoon(0);
    else this.writeSoon(this.options.intervalMs ?? 100);
  }

  /**
   * The final flush: writes everything buffered and resolves once it is
   * stored. A database that cannot be reached is retried for up to
   * finalFlushMs; then the rest is given up (logged, counted in lostLines), so
   * the outcome of a run never waits on its logs for longer than that.
   */
  async flush(): Promise<void> {
    const deadline = performance.now() + (this.options.finalFlushMs ?? SESSION_LOG_FINAL_FLUSH_MS);
    this.clearTimer();
    this.backingOff = false;
    for (;;) {
      await this.settle(this.writeDone, deadline);
      if (this.writing === null && this.queue.length === 0 && this.droppedUnrecorded === 0) break;
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (this.writing === null) {
        if (this.backingOff) await this.settle(sleep(Math.min(this.retryDelayMs, left)), deadline);
        this.backingOff = false;
        this.startWrite();
      }
    }
    this.close();
  }

  /** Resolves when `work` settles or at the deadline, whichever is first. */
  private async settle(work: Promise<void>, deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
    });
    await Promise.race([work, late]);
    clearTimeout(timer);
  }

  private close(): void {
    this.closed = true;
    this.clearTimer();
    const lost = this.queue.length + (this.writing?.length ?? 0) + this.droppedUnrecorded;
    if (lost > 0) {
      this.counters.lostLines += lost;
      this.options.logger.warn(
        { session: this.sessionId, lines: this.queue.length + (this.writing?.length ?? 0), dropped: this.droppedUnrecorded },
        'session log lines lost: the database did not take them in time',
      );
    }
    this.queue.clear();
    this.droppedUnrecorded = 0;
    this.release();
  }

  private bufferedBytes(): number {
    return this.queue.bytes + this.writingBytes;
  }

  private hold(): void {
    this.held = true;
    this.counters.holds += 1;
    this.armHoldTimer(this.options.maxHoldMs ?? SESSION_LOG_MAX_HOLD_MS);
  }

  /**
   * Ends a hold that has seen no write succeed for maxHoldMs. A database that
   * takes lines, however slowly (twenty sessions taking turns on a busy
   * machine), keeps the producer held: letting it go then would only have it
   * print faster than anything can be stored, and this process read and drop
   * every line of it.
   */
  private armHoldTimer(delayMs: number): void {
    this.holdTimer = setTimeout(() => {
      this.holdTimer = null;
      const maxHoldMs = this.options.maxHoldMs ?? SESSION_LOG_MAX_HOLD_MS;
      const sinceStored = performance.now() - this.lastStoredAt;
      if (sinceStored < maxHoldMs) return this.armHoldTimer(maxHoldMs - sinceStored);
      // Nothing stored for that long (an outage, a stuck database): let the agent go on, and drop instead.
      this.overflowing = true;
      this.options.logger.warn({ session: this.sessionId }, 'session log: database unreachable or stuck, dropping output beyond the bound');
      this.release();
    }, delayMs);
  }

  private release(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    if (!this.held) return;
    this.held = false;
    for (const listener of [...this.releaseListeners]) listener();
  }

  private writeSoon(delayMs: number): void {
    if (this.closed || this.backingOff || this.writing !== null) return;
    if (this.timer && this.timerAt <= performance.now() + delayMs) return;
    this.armTimer(delayMs);
  }

  /** (Re)arms the one timer that starts the next write; a retry's backoff ends when it fires. */
  private armTimer(delayMs: number): void {
    this.clearTimer();
    this.timerAt = performance.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.backingOff = false;
      this.startWrite();
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private startWrite(): void {
    if (this.writing !== null || (this.queue.length === 0 && this.droppedUnrecorded === 0)) return;
    // In flight from now on (an empty batch until the turn comes).
    this.writing = [];
    this.writeDone = this.write();
  }

  private async write(): Promise<void> {
    const release = await writeTurns(this.db).take();
    if (this.closed) {
      release();
      this.writing = null;
      return;
    }
    const batch = this.queue.take(MAX_WRITE_BYTES);
    const lines = batch.lines;
    const dropped = this.droppedUnrecorded;
    this.writing = lines;
    this.writingBytes = batch.bytes;
    const droppedBefore = this.counters.droppedLines;
    let retry = false;
    try {
      await appendSessionLogs(this.db, this.sessionId, lines, this.options.maxLines, dropped);
      this.lastStoredAt = performance.now();
      if (this.closed) return;
      this.droppedUnrecorded -= dropped;
      this.retryDelayMs = RETRY_FIRST_MS;
      this.overflowing = false;
    } catch (err) {
      // After the final flush gave up, these lines are already counted as lost.
      if (this.closed) return;
      if (isDatabaseUnavailable(err)) {
        this.counters.failedWrites += 1;
        retry = true;
        if (this.counters.droppedLines === droppedBefore) {
          this.queue.unshift(lines, this.writingBytes);
        } else {
          // Newer lines were dropped meanwhile: these older ones go too, so the gap stays one gap.
          this.dropWritten(lines.length);
        }
        this.options.logger.warn({ err, session: this.sessionId, lines: lines.length }, 'session log write failed; retrying');
      } else {
        this.dropWritten(lines.length);
        if (lines.length === 0) {
          // Only a drop count, and the database refuses it for good: it cannot be recorded.
          this.droppedUnrecorded -= dropped;
          this.counters.lostLines += dropped;
        }
        this.options.logger.warn({ err, session: this.sessionId, lines: lines.length }, 'session log lines could not be stored; counted as dropped');
      }
    } finally {
      release();
      this.writing = null;
      this.writingBytes = 0;
    }
    if (this.held && this.bufferedBytes() <= this.highWaterBytes / 2) this.release();
    if (retry) {
      this.backingOff = true;
      this.armTimer(this.retryDelayMs);
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
    } else if (this.queue.length >= (this.options.batchLines ?? 500) || this.droppedUnrecorded > 0) {
      this.startWrite();
    } else if (this.queue.length > 0) {
      this.writeSoon(this.options.intervalMs ?? 100);
    }
  }

  private dropWritten(count: number): void {
    this.droppedUnrecorded += count;
    this.counters.droppedLines += count;
  }
}

/** A FIFO of lines with their estimated weight; shift is O(1) (a head index, compacted now and then). */
class LineQueue {
  private items: LogLine[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(line: LogLine): void {
    this.items.push(line);
    this.bytes += lineBytes(line);
  }

  shift(): void {
    const line = this.items[this.head];
    if (line === undefined) return;
    this.items[this.head] = undefined as unknown as LogLine;
    this.head += 1;
    this.bytes -= lineBytes(line);
    this.compact();
  }

  /** The oldest lines up to `maxBytes` (at least one), taken off the queue. */
  take(maxBytes: number): { lines: LogLine[]; bytes: number } {
    let end = this.head;
    let bytes = 0;
    while (end < this.items.length) {
      const size = lineBytes(this.items[end]!);
      if (end > this.head && bytes + size > maxBytes) break;
      bytes += size;
      end += 1;
    }
    const lines = this.items.slice(this.head, end);
    this.head = end;
    this.bytes -= bytes;
    this.compact();
    return { lines, bytes };
  }

  /** Puts lines taken earlier back in front. */
  unshift(lines: LogLine[], bytes: number): void {
    this.items = lines.concat(this.items.slice(this.head));
    this.head = 0;
    this.bytes += bytes;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
