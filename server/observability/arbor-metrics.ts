import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db/database.js';
import { FAILURE_REASONS } from '../domain/metric-labels.js';
import { GOAL_STATUSES, TASK_STATUSES } from '../domain/states.js';
import type { Logger } from '../logger.js';
import { countGoalsByStatus, countOpenTasksByStatus } from '../store/metrics.js';
import { pendingDeliveryCount } from '../store/notifications.js';

/**
 * Every series an Arbor process exposes at /metrics, in one registry built by
 * the composition root and handed to the parts that observe (no prom-client
 * globals: several Arbors in one process, as in tests, keep theirs apart).
 * Labels take values from fixed sets only (see domain/metric-labels).
 *
 * Gauges of the database's state are read at scrape time, one query each.
 * Counters and histograms count what this instance did: sum them over
 * instances for the whole cluster.
 */
export interface ArborMetrics {
  registry: Registry;
  sessionsRunning: Gauge;
  dispatchLatency: Histogram;
  taskDuration: Histogram<'outcome'>;
  retries: Counter<'reason'>;
  failures: Counter<'reason'>;
  signals: Counter<'type' | 'status'>;
  gatesOpened: Counter<'result'>;
  leaseExpiries: Counter;
  costUsd: Counter;
  tokens: Counter<'direction'>;
  notificationAttempts: Counter<'outcome'>;
}

/** Seconds: dispatch is sub-second when idle, minutes when capacity is short. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
/** Seconds: agent runs take from seconds to the 2 h limit. */
const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

export function createArborMetrics(deps: { db: Db | null; logger: Logger }): ArborMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'arbor_' });
  const registers = [registry];

  // One failed read leaves the last values standing: a scrape never fails because the database blinked.
  const readInto = (gauge: Gauge<'status'>, statuses: readonly string[], read: (db: Db) => Promise<Map<string, number>>) =>
    async function collect(): Promise<void> {
      if (!deps.db) return;
      try {
        const counts = await read(deps.db);
        for (const status of statuses) gauge.set({ status }, counts.get(status) ?? 0);
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message }, 'metrics: could not read goal or task counts');
      }
    };

  // (collect() closures refer to their own gauge.)
  const goals: Gauge<'status'> = new Gauge({
    name: 'arbor_goals',
    help: 'Goals by status',
    labelNames: ['status'],
    registers,
    collect: () => readInto(goals, GOAL_STATUSES, countGoalsByStatus)(),
  });
  const tasks: Gauge<'status'> = new Gauge({
    name: 'arbor_tasks',
    help: 'Tasks of open goals (pending, running or paused) by status',
    labelNames: ['status'],
    registers,
    collect: () => readInto(tasks, TASK_STATUSES, countOpenTasksByStatus)(),
  });
  const backlog: Gauge = new Gauge({
    name: 'arbor_notification_backlog',
    help: 'Notification deliveries not yet sent nor given up',
    registers,
    collect: async () => {
      if (!deps.db) return;
      try {
        backlog.set(await pendingDeliveryCount(deps.db));
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message }, 'metrics: could not read the notification backlog');
      }
    },
  });

  const metrics: ArborMetrics = {
    registry,
    sessionsRunning: new Gauge({ name: 'arbor_sessions_running', help: 'Agent sessions running on this instance', registers }),
    dispatchLatency: new Histogram({
      name: 'arbor_dispatch_latency_seconds',
      help: 'From when a task could first run (created, backoff over, last dependency finished) to its session starting on this instance',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    taskDuration: new Histogram({
      name: 'arbor_task_run_duration_seconds',
      help: 'How long an agent task run took on this instance, by outcome',
      labelNames: ['outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    retries: new Counter({ name: 'arbor_task_retries_total', help: 'Failed runs that will be tried again, by reason', labelNames: ['reason'], registers }),
    failures: new Counter({ name: 'arbor_task_failures_total', help: 'Failed runs that failed their task for good, by reason', labelNames: ['reason'], registers }),
    signals: new Counter({
      name: 'arbor_signals_total',
      help: 'Signals received (duplicates not counted), by type (known types, else other) and status; each counted by the one instance that read it from the event log',
      labelNames: ['type', 'status'],
      registers,
    }),
    gatesOpened: new Counter({
      name: 'arbor_gates_opened_total',
      help: 'Gates resolved, by result (passed or failed); each counted by the one instance that read it from the event log',
      labelNames: ['result'],
      registers,
    }),
    leaseExpiries: new Counter({ name: 'arbor_lease_expiries_total', help: 'Task leases found expired and taken back; each counted by the one instance that read it from the event log', registers }),
    costUsd: new Counter({ name: 'arbor_cost_usd_total', help: 'Agent cost in US dollars, as the agents reported it, of runs on this instance', registers }),
    tokens: new Counter({
      name: 'arbor_tokens_total',
      help: 'Agent tokens of runs on this instance, by direction (input or output)',
      labelNames: ['direction'],
      registers,
    }),
    notificationAttempts: new Counter({
      name: 'arbor_notification_attempts_total',
      help: 'Notification delivery attempts by this instance, by outcome (delivered, retry, failed)',
      labelNames: ['outcome'],
      registers,
    }),
  };
  // Zero series from the start, so a rate() or an alert has a series before the first event.
  for (const reason of FAILURE_REASONS) {
    metrics.retries.inc({ reason }, 0);
    metrics.failures.inc({ reason }, 0);
  }
  for (const result of ['passed', 'failed']) metrics.gatesOpened.inc({ result }, 0);
  for (const direction of ['input', 'output']) metrics.tokens.inc({ direction }, 0);
  for (const outcome of ['delivered', 'retry', 'failed']) metrics.notificationAttempts.inc({ outcome }, 0);
  return metrics;
}
