import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../logger.js';

/**
 * One long-lived connection that LISTENs on a channel, outside the pool (a
 * pooled client would be handed back and lose its LISTEN). When the
 * connection drops it reconnects with backoff and emits `reconnected`:
 * notifications sent while it was away are gone, so listeners catch up by
 * querying. NOTIFY is only ever a hint to look; the tables are the truth.
 */
export class NotificationListener extends EventEmitter<{ notification: [payload: string]; reconnected: [] }> {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {
    super();
    this.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'arbor-listener' });
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.emit('notification', message.payload ?? '');
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.stopped || this.client !== client) return;
    this.client = null;
    this.logger.warn({ err: err.message }, 'notification connection lost; reconnecting');
    client.end().catch(() => {});
    this.scheduleReconnect(250);
  }

  private scheduleReconnect(delayMs: number): void {
    this.retryTimer = setTimeout(async () => {
      if (this.stopped) return;
      try {
        await this.connect();
        this.emit('reconnected');
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'notification reconnect failed');
        this.scheduleReconnect(Math.min(delayMs * 2, 10_000));
      }
    }, delayMs);
    this.retryTimer.unref();
  }
}
