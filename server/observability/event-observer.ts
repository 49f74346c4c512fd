import type { Db } from '../db/database.js';
import type { NotificationListener } from '../db/notification-listener.js';
import { attemptFailure, gateVerdict, lifecycleLine, type LifecycleEvent } from '../domain/lifecycle.js';
import { failureReason, signalTypeLabel } from '../domain/metric-labels.js';
import type { Logger } from '../logger.js';
import { followEvents, settledHorizon, type FollowedEvent } from '../store/event-cursors.js';
import { WakeableLoop } from '../wakeable-loop.js';
import type { ArborMetrics } from './arbor-metrics.js';

/** This follower's place in the event log. */
const CURSOR = 'observer';
const TYPES = ['goal.created', 'goal.status_changed', 'task.status_changed', 'signal.received'] as const;
const PAGE = 500;
const MIN_GAP_MS = 100;
const HORIZON_WAIT_MS = 5_000;

/**
 * Reads the event log for what the whole cluster did — goals created and
 * ended, gates opened and resolved, reviews, failed attempts, signals — and
 * writes the lifecycle lines of the log and the counters that come from
 * events. Its cursor is in Postgres and taken with SKIP LOCKED, so of several
 * instances one handles each event: summed over instances, the counters count
 * each event once, and each line is written once.
 */
export class EventObserver {
  private readonly loop: WakeableLoop;

  constructor(
    private readonly deps: { db: Db; logger: Logger; metrics: ArborMetrics; notifications?: NotificationListener | null },
    options: { pollMs: number },
  ) {
    this.loop = new WakeableLoop(() => this.pass(), { pollMs: options.pollMs, minGapMs: MIN_GAP_MS, notifications: deps.notifications }, deps.logger, 'observing the event log');
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  async pass(): Promise<void> {
    const horizon = await settledHorizon(this.deps.db, HORIZON_WAIT_MS, () => this.loop.isStopped);
    if (horizon === null) return;
    for (;;) {
      let page: FollowedEvent[] = [];
      // Told only once the cursor's move committed: a page whose transaction is retried is not counted twice.
      const result = await followEvents(this.deps.db, { cursor: CURSOR, horizon, pageSize: PAGE, types: TYPES }, async (_trx, events) => {
        page = events;
      });
      for (const event of page) this.observe(event);
      if (!result.more || this.loop.isStopped) return;
    }
  }

  private observe(event: LifecycleEvent): void {
    const { metrics, logger } = this.deps;
    const line = lifecycleLine(event);
    if (line) logger[line.level](line.fields, line.msg);
    if (event.type === 'signal.received') {
      const type = typeof event.data.type === 'string' ? event.data.type : '';
      const status = event.data.status === 'pass' || event.data.status === 'fail' ? event.data.status : 'other';
      metrics.signals.inc({ type: signalTypeLabel(type), status });
      return;
    }
    const verdict = gateVerdict(event);
    if (verdict) metrics.gatesOpened.inc({ result: verdict });
    const failure = attemptFailure(event);
    if (failure) {
      const reason = failureReason(failure.error, failure.permanent);
      (failure.retried ? metrics.retries : metrics.failures).inc({ reason });
      if (reason === 'lease_expired') metrics.leaseExpiries.inc();
    }
  }
}
