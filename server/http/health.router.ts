import { Hono } from 'hono';
import { databaseAnswers } from '../store/health.js';
import type { AppDeps, AppEnv } from './context.js';
import { errorResponse } from './errors.js';
import type { HttpMetrics } from './metrics.js';

/**
 * Liveness, readiness and Prometheus metrics; no token needed.
 *
 * `/healthz` (liveness) fails when a part this process runs itself is down —
 * its embedded Postgres died and is being restarted, or could not be — not
 * when a database it was given is unreachable: restarting Arbor would not
 * bring that back. `/readyz` (readiness) fails whenever requests would fail:
 * the database does not answer, or the server is shutting down.
 */
export function healthRouter({ db, shutdown, healthProblem }: AppDeps, metrics: HttpMetrics) {
  return new Hono<AppEnv>()
    .get('/healthz', (c) => {
      const problem = healthProblem?.() ?? null;
      return problem ? errorResponse(c, 503, problem) : c.json({ status: 'ok' });
    })
    .get('/readyz', async (c) => {
      if (shutdown?.aborted) return errorResponse(c, 503, 'shutting down');
      const problem = healthProblem?.() ?? null;
      if (problem) return errorResponse(c, 503, problem);
      return (await databaseAnswers(db)) ? c.json({ status: 'ready' }) : errorResponse(c, 503, 'database unreachable');
    })
    .get('/metrics', async (c) => {
      c.header('Content-Type', metrics.registry.contentType);
      return c.body(await metrics.registry.metrics());
    });
}
