import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Telling "the database is not there right now" from "the database said no".
 * The first heals by itself — a restart, a failover, a network blip — and the
 * right response is to wait and try again with nothing lost. The second
 * (a constraint, bad data, a bug) would fail the same way every time.
 */

/** SQLSTATEs of a server that is going away, starting up or refusing connections (besides class 08, connection exceptions). */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, in recovery)
  '53300', // too_many_connections
]);

/** Socket-level failures node and pg report while there is no server to talk to. */
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** pg's own messages for a connection that broke or never came (they carry no code). */
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /connection ended unexpectedly/i,
  /timeout exceeded when trying to connect/i,
  /client has encountered a connection error/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code))) return true;
    if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(e instanceof Error ? e.message : ''))) return true;
    // AggregateError: a connect that tried several addresses (::1 and 127.0.0.1) and failed on each.
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0 && errors.every((inner) => isDatabaseUnavailable(inner))) return true;
  }
  return false;
}

export interface RetryOptions {
  /** Told of each failed try, to log it (once a while, not every time: see `attempt`). */
  onRetry?(err: unknown, attempt: number): void;
  /** Stops retrying (the last error is thrown) once this aborts. */
  signal?: AbortSignal;
  /** Longest pause between tries. */
  maxDelayMs?: number;
}

/**
 * Runs `work` until it succeeds or fails for a reason other than the database
 * being unavailable. Bookkeeping that records what really happened (a session
 * started, an agent's outcome) must outlast an outage rather than turn it into
 * a failure of the task.
 */
export async function untilDatabaseAnswers<T>(work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  let delay = 50;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || options.signal?.aborted) throw err;
      options.onRetry?.(err, attempt);
      await sleep(delay);
      delay = Math.min(delay * 2, options.maxDelayMs ?? 2000);
    }
  }
}
