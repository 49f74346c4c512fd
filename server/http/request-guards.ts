import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { routePath } from 'hono/route';
import { ApiError } from './errors.js';
import type { AppEnv } from './context.js';
import type { HttpMetrics } from './metrics.js';

/** Larger bodies are refused with 413 before they are read in full. */
export function limitBodySize(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, `request body is larger than ${maxBytes} bytes`);
    },
  });
}

/**
 * A body the API would read must be JSON; anything else is 415 rather than
 * being silently treated as empty. Bodiless commands (pause, retry) need no
 * content type.
 */
export function requireJsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // A request carries a body only if it says so (a length, chunks, or a
    // type); curl's bare `-X POST` says none of it and must not get a 415.
    const length = c.req.header('content-length');
    const hasBody =
      length !== undefined ? length !== '0' : c.req.header('transfer-encoding') !== undefined || c.req.header('content-type') !== undefined;
    if (hasBody && !['GET', 'HEAD'].includes(c.req.method)) {
      const type = c.req.header('content-type') ?? '';
      if (!/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
        throw new ApiError(415, 'request body must be application/json');
      }
    }
    await next();
  };
}

/** One log line and one metric sample per request; headers (and so tokens) are never logged. */
export function observeRequests(metrics: HttpMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    // The matched route pattern, not the raw path: ids would explode the label set.
    const matched = routePath(c, -1);
    const route = matched && !matched.endsWith('*') ? matched : 'unmatched';
    metrics.requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    metrics.duration.observe({ method: c.req.method, route }, seconds);
    const level = c.res.status >= 500 ? 'error' : 'info';
    c.get('logger')[level](
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(seconds * 10_000) / 10 },
      'request',
    );
  };
}
