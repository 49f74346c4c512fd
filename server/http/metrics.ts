import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per app, not prom-client's global one: several apps (tests,
 * several instances in one process) must not share or double-register metrics.
 */
export interface HttpMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
}

/** `registry`: Arbor's own (with the process and domain series); none: a registry of the app's own. */
export function createHttpMetrics(shared?: Registry): HttpMetrics {
  const registry = shared ?? new Registry();
  if (!shared) collectDefaultMetrics({ register: registry, prefix: 'arbor_' });
  return {
    registry,
    requests: new Counter({
      name: 'arbor_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'arbor_http_request_duration_seconds',
      help: 'HTTP request duration by method and route',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
