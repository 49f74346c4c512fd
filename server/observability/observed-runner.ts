import type { Db } from '../db/database.js';
import { loggedError } from '../domain/lifecycle.js';
import { reportedAmount } from '../domain/metric-labels.js';
import { decideAfterFailure, type RetryPolicy } from '../domain/task-rules.js';
import type { Logger } from '../logger.js';
import { wrapRuns, type SessionRunner } from '../orchestrator/session-runner.js';
import { taskReadyAt } from '../store/metrics.js';
import type { ArborMetrics } from './arbor-metrics.js';

/**
 * Wraps the session runner, where this instance starts and ends agent runs:
 * the `task started` / `task finished` lines, sessions running, dispatch
 * latency, run duration, and the cost and tokens the run reported. Outside the
 * orchestrator on purpose: what it observes is the hand-over, whatever the
 * scheduling inside looks like.
 */
export function withObservation(
  inner: SessionRunner,
  deps: { db: Db; metrics: ArborMetrics; logger: Logger; retry: RetryPolicy },
): SessionRunner {
  const { metrics, logger } = deps;
  return wrapRuns(inner, async (assignment) => {
    const { task, goal, attempt } = assignment;
    const started = Date.now();
    const facts = { goal_id: goal.id, goal: goal.title, task_id: task.id, task_key: task.key, attempt };
    logger.info({ ...facts, route: task.route }, 'task started');
    metrics.sessionsRunning.inc();
    // Off the hot path: a failed read costs one observation, never the run.
    void taskReadyAt(deps.db, task.id).then(
      (readyAt) => readyAt && metrics.dispatchLatency.observe(Math.max(started - readyAt.getTime(), 0) / 1000),
      () => {},
    );
    try {
      const outcome = await inner.run(assignment);
      const seconds = (Date.now() - started) / 1000;
      metrics.taskDuration.observe({ outcome: outcome.kind }, seconds);
      metrics.costUsd.inc(reportedAmount(outcome.result, 'cost_usd'));
      metrics.tokens.inc({ direction: 'input' }, reportedAmount(outcome.result, 'input_tokens'));
      metrics.tokens.inc({ direction: 'output' }, reportedAmount(outcome.result, 'output_tokens'));
      const ended = { ...facts, outcome: outcome.kind, duration_s: Math.round(seconds * 10) / 10 };
      if (outcome.kind === 'succeeded') logger.info(ended, 'task finished');
      else if (outcome.kind === 'blocked') logger.warn({ ...ended, reason: outcome.reason }, 'task finished');
      else {
        const retry = decideAfterFailure(attempt - task.attemptFloor, task.maxAttempts, deps.retry, outcome.permanent ?? false).retry;
        logger.warn({ ...ended, error: loggedError(outcome.error), will_retry: retry }, 'task finished');
      }
      return outcome;
    } finally {
      metrics.sessionsRunning.dec();
    }
  });
}
