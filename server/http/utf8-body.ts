import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './context.js';
import { ApiError } from './errors.js';

const JSON_TYPE = /^application\/(.+\+)?json\s*(;|$)/i;

/**
 * JSON is UTF-8 (RFC 8259). Parsing decodes leniently, turning bytes that are
 * not UTF-8 into U+FFFD, so a broken body would be stored as something its
 * sender never wrote: it is refused instead. The bytes read here stay cached
 * for the validators and for a webhook's signature check.
 */
export function requireUtf8Body(): MiddlewareHandler<AppEnv> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && JSON_TYPE.test(c.req.header('content-type') ?? '')) {
      try {
        decoder.decode(await c.req.arrayBuffer());
      } catch {
        throw new ApiError(400, 'the body is not valid UTF-8');
      }
    }
    await next();
  };
}
