import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { ApiError } from './errors.js';
import type { AppEnv } from './context.js';
import type { HttpMetrics } from './metrics.js';

/**
 * Larger bodies are refused with 413 before they are read in full.
 *
 * With a Content-Length the header decides and the body is never touched:
 * the server then discards the unread bytes and keeps the connection, so the
 * client reads its 413 and its next request works. (Touching the body stream
 * first, as Hono's own bodyLimit does, pauses the socket: the 413 went out as
 * keep-alive and the connection died under the client's next request.)
 *
 * A chunked body (or one of no stated length) is counted as it is read, up
 * to the limit. Past it the rest is not wanted, so the 413 says
 * `Connection: close`: the client knows not to send more on this connection.
 */
export function limitBodySize(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = (headers?: Record<string, string>) => new ApiError(413, `request body is larger than ${maxBytes} bytes`, undefined, headers);
  return async (c, next) => {
    const length = c.req.header('content-length');
    const chunked = c.req.header('transfer-encoding') !== undefined;
    if (length !== undefined && !chunked) {
      // Node's parser has already refused a malformed length; a huge one parses to a huge number.
      if (Number(length) > maxBytes) throw tooLarge();
      return next();
    }
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || !c.req.raw.body) return next();
    // Chunked, or (HTTP/2, an in-process request) of no stated length: count it.
    const body = await readChunkedBody(c.req.raw.body, maxBytes);
    if (body === null) throw tooLarge({ connection: 'close' });
    c.req.raw = new Request(c.req.raw, { body });
    return next();
  };
}

/** The whole body, or null once it has grown past `maxBytes` (nothing more is read then). */
async function readChunkedBody(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array | null> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      reader.releaseLock();
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
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

const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

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
    // Probes come every few seconds from every load balancer and scraper: their lines would bury the rest.
    const level = c.res.status >= 500 ? 'error' : PROBE_PATHS.has(c.req.path) ? 'debug' : 'info';
    c.get('logger')[level](
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(seconds * 10_000) / 10 },
      'request',
    );
  };
}
