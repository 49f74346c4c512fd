import { createHash } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { NotificationListener } from '../db/notification-listener.js';
import {
  deliveryBackoffMs,
  deliveryVerdict,
  notificationFor,
  notificationPayload,
  retryAfterMs,
  type DeliveryBackoff,
  type NotifiableEvent,
  type NotificationTarget,
} from '../domain/notifications.js';
import type { Logger } from '../logger.js';
import { eventHorizon, openEventWriters } from '../store/event-log.js';
import { claimDueDeliveries, collectNotifications, recordDelivery, type ClaimedDelivery, type NewDelivery } from '../store/notifications.js';

export interface NotifierOptions {
  targets: NotificationTarget[];
  /** One POST may take this long before it counts as failed (and is retried). */
  timeoutMs: number;
  /** Attempts per delivery before it is given up (recorded as failed, logged). */
  maxAttempts: number;
  backoff: DeliveryBackoff;
  /** How often due retries are looked for when nothing wakes the notifier. */
  pollMs: number;
}

export interface NotifierDeps {
  db: Db;
  logger: Logger;
  /** Wake-ups when events are written; without it the notifier only polls. */
  notifications?: NotificationListener | null;
  /** The dashboard's address, for links. */
  publicUrl: () => string;
  /** Told of each attempt's outcome (metrics). */
  onAttempt?: (outcome: 'delivered' | 'retry' | 'failed') => void;
}

/** Events read per transaction, and deliveries sent at once. */
const EVENT_PAGE = 500;
const SEND_BATCH = 10;
/** A horizon with a writer open longer than this is left for the next pass rather than waited on. */
const HORIZON_WAIT_MS = 5_000;

/** A stable name for a target that does not reveal its URL. */
export function targetKey(target: NotificationTarget): string {
  return createHash('sha256').update(`${target.format} ${target.url}`).digest('hex').slice(0, 16);
}

/**
 * Follows the event log and POSTs a notification to every target for each
 * event a person should hear of (see domain/notifications). Everything it
 * knows is in Postgres: the cursor and one delivery row per (event, target),
 * so a restart neither loses nor repeats one, and any number of instances can
 * run a notifier on the same database.
 *
 * Delivery is at least once: an instance that dies between the POST and
 * recording it leaves the row to be sent again when its claim runs out.
 */
export class Notifier {
  private readonly targets: Map<string, NotificationTarget>;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: NotifierDeps,
    private readonly options: NotifierOptions,
  ) {
    this.targets = new Map(options.targets.map((target) => [targetKey(target), target]));
  }

  start(): void {
    this.stopped = false;
    this.deps.notifications?.on('notification', this.wake);
    this.deps.notifications?.on('reconnected', this.wake);
    this.timer = setInterval(this.wake, this.options.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** No new passes; waits for the one under way (its sends are bounded by the timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.notifications?.off('notification', this.wake);
    this.deps.notifications?.off('reconnected', this.wake);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private readonly wake = (): void => {
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
        await this.pass();
      } catch (err) {
        // Nothing is lost: the cursor and the rows are where they were; the next wake-up tries again.
        this.deps.logger.warn({ err: (err as Error).message }, 'notifications: a pass failed');
      }
    } while (this.again && !this.stopped);
  }

  /** One pass: new events become deliveries, then due deliveries are sent. */
  async pass(): Promise<void> {
    await this.collect();
    while (!this.stopped) {
      const claimed = await claimDueDeliveries(this.deps.db, SEND_BATCH, this.options.timeoutMs + 5_000);
      await Promise.all(claimed.map((delivery) => this.deliver(delivery)));
      if (claimed.length < SEND_BATCH) break;
    }
  }

  private async collect(): Promise<void> {
    const horizon = await this.horizon();
    if (horizon === null) return;
    for (;;) {
      const result = await collectNotifications(this.deps.db, horizon, EVENT_PAGE, (events) => this.plan(events));
      if (!result.more || this.stopped) return;
    }
  }

  /**
   * The newest event id below which no transaction is still writing (ids are
   * drawn at insert, seen at commit: see store/event-log). Null when a writer
   * stays open too long; the next pass tries again.
   */
  private async horizon(): Promise<string | null> {
    const started = Date.now();
    const { newest, writers } = await eventHorizon(this.deps.db);
    let open = writers;
    let delay = 5;
    while (open.length > 0) {
      if (Date.now() - started > HORIZON_WAIT_MS || this.stopped) return null;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 200);
      open = await openEventWriters(this.deps.db, open);
    }
    return newest;
  }

  private plan(events: NotifiableEvent[]): NewDelivery[] {
    const now = new Date();
    const deliveries: NewDelivery[] = [];
    for (const event of events) {
      const kind = notificationFor(event, now);
      if (kind === null) continue;
      for (const [key, target] of this.targets) {
        deliveries.push({
          eventId: event.id,
          target: key,
          targetHost: target.host,
          kind,
          goalId: event.goalId,
          taskId: event.taskId,
          payload: notificationPayload(target.format, kind, event, this.deps.publicUrl()),
        });
      }
    }
    return deliveries;
  }

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    const log = this.deps.logger;
    const facts = { target: delivery.targetHost, kind: delivery.kind, event_id: delivery.eventId, attempt: delivery.attempts };
    const target = this.targets.get(delivery.target);
    if (!target) {
      await recordDelivery(this.deps.db, delivery, { outcome: 'failed', status: null, error: 'target no longer configured' });
      log.warn(facts, 'notification dropped: its target is no longer configured');
      this.deps.onAttempt?.('failed');
      return;
    }

    let status: number | null = null;
    let error = '';
    let retryAfter: number | null = null;
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'arbor-notifier' },
        body: JSON.stringify(delivery.payload),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = res.status;
      error = `answered ${res.status}`;
      retryAfter = retryAfterMs(res.headers.get('retry-after'), new Date());
      await res.body?.cancel().catch(() => {});
    } catch (err) {
      // Never the URL: it may hold a secret. The cause's code says enough (ECONNREFUSED, a timeout).
      const e = err as Error & { cause?: { code?: string; message?: string } };
      error = e.name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    }

    const verdict = deliveryVerdict(status);
    if (verdict === 'delivered') {
      await recordDelivery(this.deps.db, delivery, { outcome: 'delivered', status: status! });
      log.debug(facts, 'notification delivered');
      this.deps.onAttempt?.('delivered');
    } else if (verdict === 'give_up' || delivery.attempts >= this.options.maxAttempts) {
      await recordDelivery(this.deps.db, delivery, { outcome: 'failed', status, error });
      log.warn({ ...facts, error }, verdict === 'give_up' ? 'notification refused by its target; not retried' : 'notification given up after its last attempt');
      this.deps.onAttempt?.('failed');
    } else {
      const delayMs = deliveryBackoffMs(delivery.attempts, this.options.backoff, retryAfter);
      await recordDelivery(this.deps.db, delivery, { outcome: 'retry', status, error, delayMs });
      log.info({ ...facts, error, retry_in_ms: delayMs }, 'notification not delivered; will retry');
      this.deps.onAttempt?.('retry');
    }
  }
}
