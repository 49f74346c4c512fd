import type { Logger } from '../logger.js';
import type { EmbeddedPostgres } from './embedded-postgres.js';

/**
 * Keeps Arbor's own Postgres running under it. If the postmaster dies (killed,
 * OOM, stopped by hand) it is started again on the same port, so the pool and
 * the LISTEN connection find it where they left it and running agents' outcomes
 * are recorded once it answers. Restarting here rather than exiting keeps
 * agents that are mid-task alive and serves `npm start` users who have no
 * supervisor; a Postgres that keeps dying, or cannot come back, is not healed
 * by retrying, so then Arbor is told to exit non-zero and leave it to whoever
 * runs it.
 */

export type EmbeddedPostgresState = 'running' | 'restarting' | 'failed' | 'stopped';

const CHECK_MS = 500;
/** More restarts than this within the window: Postgres is crash-looping. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 5 * 60_000;
/** Attempts per restart: a killed postmaster's backends need a moment to let go of shared memory. */
const START_ATTEMPTS = 8;

export class EmbeddedPostgresSupervisor {
  private current: EmbeddedPostgresState = 'running';
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private readonly restarts: number[] = [];

  constructor(
    private readonly postgres: EmbeddedPostgres,
    private readonly logger: Logger,
    /** Called once when Postgres cannot be kept running. */
    private readonly onFailed: (err: Error) => void,
  ) {}

  get state(): EmbeddedPostgresState {
    return this.current;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.checking ??= this.check().finally(() => (this.checking = null));
    }, CHECK_MS);
    this.timer.unref();
  }

  /** Stops watching (before Arbor stops Postgres itself), after a restart in progress has settled. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.current !== 'failed') this.current = 'stopped';
    await this.checking;
  }

  private async check(): Promise<void> {
    if (this.current !== 'running' || (await this.postgres.alive())) return;
    if (this.timer === null) return;
    this.current = 'restarting';
    const now = Date.now();
    while (this.restarts.length > 0 && this.restarts[0]! < now - RESTART_WINDOW_MS) this.restarts.shift();
    if (this.restarts.length >= MAX_RESTARTS) {
      return this.fail(new Error(`embedded Postgres died ${MAX_RESTARTS + 1} times within ${RESTART_WINDOW_MS / 60_000} minutes`));
    }
    this.restarts.push(now);
    this.logger.error({ port: this.postgres.port }, 'embedded Postgres died; restarting it');
    let lastError: unknown;
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      if (this.timer === null) return;
      try {
        await this.postgres.restart();
        if (this.timer === null) return;
        this.current = 'running';
        this.logger.warn({ port: this.postgres.port, attempt }, 'embedded Postgres restarted');
        return;
      } catch (err) {
        lastError = err;
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
    this.fail(new Error(`embedded Postgres could not be restarted: ${lastError instanceof Error ? lastError.message : String(lastError)}`));
  }

  private fail(err: Error): void {
    this.current = 'failed';
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.onFailed(err);
  }
}
