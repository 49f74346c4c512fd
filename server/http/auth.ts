import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Config } from '../config.js';
import { ApiError } from './errors.js';
import type { AppEnv, Caller } from './context.js';

/**
 * Who is calling. With `ARBOR_API_TOKEN` set, every /api route needs it as a
 * bearer token; `ARBOR_SIGNAL_TOKEN` (as a bearer or `X-Internal-Token`, the
 * header existing review bots send) opens only the signal routes. With no API
 * token the API is open — config refuses that on anything but loopback.
 */

/** Routes a signal token may call. */
const SIGNAL_ROUTES = [/^\/api\/signals\/resolve$/];

export function authenticate(auth: Config['auth']): MiddlewareHandler<AppEnv> {
  const apiToken = auth.apiToken ? digest(auth.apiToken) : null;
  const signalToken = auth.signalToken ? digest(auth.signalToken) : null;
  return async (c, next) => {
    const presented = bearer(c.req.header('authorization')) ?? c.req.header('x-internal-token') ?? null;
    let caller: Caller;
    if (presented === null) {
      if (apiToken) {
        throw new ApiError(401, 'missing bearer token', undefined, { 'WWW-Authenticate': 'Bearer realm="arbor"' });
      }
      caller = 'anonymous';
    } else {
      const given = digest(presented);
      if (apiToken && timingSafeEqual(given, apiToken)) caller = 'api';
      else if (signalToken && timingSafeEqual(given, signalToken)) caller = 'signal';
      else if (!apiToken && !signalToken) caller = 'anonymous';
      else {
        throw new ApiError(401, 'invalid token', undefined, {
          'WWW-Authenticate': 'Bearer realm="arbor", error="invalid_token"',
        });
      }
    }
    if (caller === 'signal' && !SIGNAL_ROUTES.some((route) => route.test(c.req.path))) {
      throw new ApiError(403, 'this token may only post signals');
    }
    c.set('caller', caller);
    await next();
  };
}

function bearer(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

/** Fixed-length digests let timingSafeEqual compare tokens of any length. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
