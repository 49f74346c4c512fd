import { createHash } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { NotificationListener } from '../db/notification-listener.js';
import {
  deliveryBackoffMs,
  deliveryVerdict,
  NOTIFYING_EVENT_TYPES,
  notificationFor,
  notificationPayload,
  retryAfterMs,
  type DeliveryBackoff,
  type NotifiableEvent,
  type NotificationTarget,
} from '../domain/notifications.js';
import type { Logger } from '../logger.js';
import { followEvents, settledHorizon, type FollowedEvent } from '../store/event-cursors.js';
import { claimDueDeliveries, insertDeliveries, recordDelivery, type ClaimedDelivery, type NewDelivery } from '../store/notifications.js';
import { WakeableLoop } from '../wakeable-loop.js';

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

/** This follower's place in the event log. */
const CURSOR = 'notifications';
/** While changes keep coming, at most one pass per this long. */
const MIN_GAP_MS = 50;
/** Events read per transaction, and deliveries sent at once. */
const EVENT_PAGE = 500;
const SEND_BATCH = 10;
/** A horizon with a writer open longer than this is left for the next pass rather than waited on. */
const HORIZON_WAIT_MS = 5_000;

/** The event with what its change said (a block's reason, the attempt) before what the task holds now. */
function notifiableEvent(event: FollowedEvent): NotifiableEvent {
  const { data } = event;
  const reason = typeof data.reason === 'string' ? data.reason : typeof data.error === 'string' ? data.error : null;
  return { ...event, taskError: reason ?? event.taskError, attempt: typeof data.attempt === 'number' ? data.attempt : event.taskAttempt };
}

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
  private readonly loop: WakeableLoop;

  constructor(
    private readonly deps: NotifierDeps,
    private readonly options: NotifierOptions,
  ) {
    this.targets = new Map(options.targets.map((target) => [targetKey(target), target]));
    this.loop = new WakeableLoop(() => this.pass(), { pollMs: options.pollMs, minGapMs: MIN_GAP_MS, notifications: deps.notifications }, deps.logger, 'notifications: a pass');
  }

  start(): void {
    this.loop.start();
  }

  /** No new passes; waits for the one under way (its sends are bounded by the timeout). */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass: new events become deliveries, then due deliveries are sent. */
  async pass(): Promise<void> {
    await this.collect();
    while (!this.loop.isStopped) {
      const claimed = await claimDueDeliveries(this.deps.db, SEND_BATCH, this.options.timeoutMs + 5_000);
      await Promise.all(claimed.map((delivery) => this.deliver(delivery)));
      if (claimed.length < SEND_BATCH) break;
    }
  }

  private async collect(): Promise<void> {
    const horizon = await settledHorizon(this.deps.db, HORIZON_WAIT_MS, () => this.loop.isStopped);
    if (horizon === null) return;
    const follow = { cursor: CURSOR, horizon, pageSize: EVENT_PAGE, types: NOTIFYING_EVENT_TYPES };
    while ((await followEvents(this.deps.db, follow, (trx, events) => insertDeliveries(trx, this.plan(events)))).more) {
      if (this.loop.isStopped) return;
    }
  }

  private plan(events: FollowedEvent[]): NewDelivery[] {
    const now = new Date();
    const deliveries: NewDelivery[] = [];
    for (const followed of events) {
      const event = notifiableEvent(followed);
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
