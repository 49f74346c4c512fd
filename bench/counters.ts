import type pg from 'pg';
import { note } from './output.js';

/**
 * Counts the statements and commits the bench's pool sends, so each figure
 * comes with "how many round trips and transactions did that take" — the
 * first thing to look at when a figure is off. Counted on the client, where
 * it is exact and immediate (Postgres' own pg_stat_database counters are
 * flushed lazily, up to seconds late).
 *
 * With `profile` on it also times each statement (from the call to its
 * answer, so queueing behind the connection counts too) grouped by the
 * statement's opening words, and `report` prints where the time went.
 */
export class StatementCounter {
  statements = 0;
  commits = 0;
  private readonly timings = new Map<string, { count: number; totalMs: number; maxMs: number }>();

  constructor(private readonly profile = false) {}

  /** Wraps `query` of every connection the pool opens from now on. */
  attach(pool: pg.Pool): void {
    pool.on('connect', (client) => {
      const target = client as unknown as { query: (...args: unknown[]) => unknown };
      const original = target.query.bind(client);
      target.query = (...args: unknown[]) => {
        this.statements += 1;
        const first = args[0];
        const text = typeof first === 'string' ? first : (first as { text?: string } | undefined)?.text;
        if (text !== undefined && /^\s*commit\s*$/i.test(text)) this.commits += 1;
        const result = original(...args);
        if (this.profile && text !== undefined && result instanceof Promise) {
          const started = performance.now();
          void result.then(
            () => this.time(text, performance.now() - started),
            () => this.time(text, performance.now() - started),
          );
        }
        return result;
      };
    });
  }

  snapshot(): CounterSnapshot {
    return { statements: this.statements, commits: this.commits, at: performance.now() };
  }

  /** Prints the statements that took the most time since the last report, and starts over. */
  report(label: string, top = 12): void {
    if (!this.profile) return;
    const rows = [...this.timings.entries()].sort((a, b) => b[1].totalMs - a[1].totalMs).slice(0, top);
    for (const [shape, t] of rows) {
      note(
        `${label} profile: ${t.totalMs.toFixed(0).padStart(6)} ms total, ${String(t.count).padStart(6)}x, ` +
          `mean ${(t.totalMs / t.count).toFixed(3)} ms, max ${t.maxMs.toFixed(1)} ms  ${shape}`,
      );
    }
    this.timings.clear();
  }

  /** Forgets timings so far (a warm-up's). */
  discard(): void {
    this.timings.clear();
  }

  private time(text: string, ms: number): void {
    const shape = text.replace(/\s+/g, ' ').trim().slice(0, 90);
    const t = this.timings.get(shape) ?? { count: 0, totalMs: 0, maxMs: 0 };
    t.count += 1;
    t.totalMs += ms;
    t.maxMs = Math.max(t.maxMs, ms);
    this.timings.set(shape, t);
  }
}

export interface CounterSnapshot {
  statements: number;
  commits: number;
  at: number;
}

export function describeDelta(from: CounterSnapshot, to: CounterSnapshot, per: number, perLabel: string): string {
  const commits = to.commits - from.commits;
  const statements = to.statements - from.statements;
  const secs = (to.at - from.at) / 1000;
  return (
    `${commits} commits (${(commits / secs).toFixed(0)}/s, ${(commits / per).toFixed(2)} per ${perLabel}), ` +
    `${statements} statements (${(statements / secs).toFixed(0)}/s, ${(statements / per).toFixed(2)} per ${perLabel})`
  );
}
