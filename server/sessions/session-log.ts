import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { appendSessionLogs, type LogLine } from '../store/sessions.js';

/**
 * Buffers a session's output and writes it in batches: an agent printing as
 * fast as it can must cost a few inserts a second, not one per line. Flushes
 * run one at a time, so lines reach the table in the order they were printed.
 */
export class SessionLog {
  private buffer: LogLine[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** The armed timer fires at once: a full batch waits for nothing. */
  private immediate = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly sessionId: string,
    private readonly options: { maxLines: number; batchLines?: number; intervalMs?: number; logger: Logger },
  ) {}

  push(stream: LogLine['stream'], text: string): void {
    this.buffer.push({ stream, text, at: new Date() });
    if (this.buffer.length >= (this.options.batchLines ?? 500)) this.flushSoon(0);
    else this.flushSoon(this.options.intervalMs ?? 100);
  }

  /** Writes everything buffered so far; resolves when it is stored. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      try {
        await appendSessionLogs(this.db, this.sessionId, batch, this.options.maxLines);
      } catch (err) {
        // Logs are worth keeping, not worth failing the task over.
        this.options.logger.warn({ err, session: this.sessionId, lines: batch.length }, 'session log lines lost');
      }
    });
    await this.flushing;
  }

  private flushSoon(delayMs: number): void {
    if (this.timer && (delayMs > 0 || this.immediate)) return;
    if (this.timer) clearTimeout(this.timer);
    this.immediate = delayMs === 0;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
  }
}
