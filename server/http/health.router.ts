import { Hono } from 'hono';
import { databaseAnswers } from '../store/health.js';
import type { AppDeps, AppEnv } from './context.js';
import { errorResponse } from './errors.js';
import type { HttpMetrics } from './metrics.js';

/** Liveness, readiness (the database answers) and Prometheus metrics; no token needed. */
export function healthRouter({ db }: AppDeps, metrics: HttpMetrics) {
  return new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) =>
      (await databaseAnswers(db)) ? c.json({ status: 'ready' }) : errorResponse(c, 503, 'database unreachable'),
    )
    .get('/metrics', async (c) => {
      c.header('Content-Type', metrics.registry.contentType);
      return c.body(await metrics.registry.metrics());
    });
}
