import { MAX_DETAIL_CHARS, stripCr, truncate } from './util.js';

/** How many trailing non-empty lines a tail keeps. */
const TAIL_LINES = 10;
/** A line that states an error, as CLIs print them ("Error: ...", "ERROR codex_core: ...", "fatal: ..."). */
const ERROR_LINE = /^\s*(\S+\s+)?(error|fatal)\b/i;

/**
 * The last non-empty lines of a stream, bounded in lines and characters:
 * what a failed agent last wrote on stderr, to tell why it failed. The last
 * line that states an error is kept too, should a stack trace push it out of
 * the tail.
 */
export class OutputTail {
  private readonly lines: string[] = [];
  private lastError: string | null = null;
  private lastErrorInTail = false;

  constructor(private readonly maxChars = MAX_DETAIL_CHARS) {}

  push(raw: string): void {
    const line = truncate(stripCr(raw), this.maxChars);
    if (line.trim() === '') return;
    this.lines.push(line);
    if (ERROR_LINE.test(line)) {
      this.lastError = line;
      this.lastErrorInTail = true;
    }
    if (this.lines.length > TAIL_LINES) {
      const dropped = this.lines.shift();
      if (dropped === this.lastError && !this.lines.includes(dropped)) this.lastErrorInTail = false;
    }
  }

  /** The kept lines, the newest last, within `maxChars`; null when nothing was written. */
  text(): string | null {
    if (this.lines.length === 0) return null;
    const head = this.lastError !== null && !this.lastErrorInTail ? `${truncate(this.lastError, Math.floor(this.maxChars / 2))}\n…\n` : '';
    const budget = this.maxChars - head.length;
    const tail = this.lines.join('\n');
    return head + (tail.length <= budget ? tail : `…${tail.slice(tail.length - budget + 1)}`);
  }
}
