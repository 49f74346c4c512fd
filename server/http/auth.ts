import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Config } from '../config.js';
import { ApiError } from './errors.js';
import type { AppEnv, Caller } from './context.js';

/**
 * Who is calling, and what they may call.
 *   - `ARBOR_API_TOKEN` (bearer): everything. When it is set, /api needs a token.
 *   - `ARBOR_SIGNAL_TOKEN` (bearer or `X-Internal-Token`, the header existing
 *     review bots send): the signal routes only.
 *   - a task token (bearer, given to each agent run): reading and reporting on
 *     its own task only.
 * With no API token the API is open — config refuses that on anything but
 * loopback.
 */

const SIGNAL_ROUTES = [/^\/api\/signals\/resolve$/];
/** Routes that carry their own proof instead of a token: GitHub signs its webhook deliveries. */
const SELF_AUTHENTICATED_ROUTES = [/^\/api\/webhooks\/github$/];
/** What a task token opens, for the task it was issued for. */
const TASK_ROUTES = [/^\/api\/tasks\/([^/]+)$/, /^\/api\/tasks\/([^/]+)\/(complete|block|subtasks)$/];

/** Looks a task token up; resolves the session (and its task) it was issued to while that run is live. */
export type TaskTokenResolver = (token: string) => Promise<{ taskId: string; sessionId: string } | null>;

export function authenticate(auth: Config['auth'], resolveTaskToken: TaskTokenResolver): MiddlewareHandler<AppEnv> {
  const apiToken = auth.apiToken ? digest(auth.apiToken) : null;
  const signalToken = auth.signalToken ? digest(auth.signalToken) : null;
  return async (c, next) => {
    if (SELF_AUTHENTICATED_ROUTES.some((route) => route.test(c.req.path))) {
      c.set('caller', { kind: 'anonymous' });
      return next();
    }
    const presented = bearer(c.req.header('authorization')) ?? c.req.header('x-internal-token') ?? null;
    const caller = await identify(presented);
    if (caller === null) {
      if (presented === null) {
        throw new ApiError(401, 'missing bearer token', undefined, { 'WWW-Authenticate': 'Bearer realm="arbor"' });
      }
      throw new ApiError(401, 'invalid token', undefined, { 'WWW-Authenticate': 'Bearer realm="arbor", error="invalid_token"' });
    }
    if (caller.kind === 'signal' && !SIGNAL_ROUTES.some((route) => route.test(c.req.path))) {
      throw new ApiError(403, 'this token may only post signals');
    }
    if (caller.kind === 'task') {
      const match = TASK_ROUTES.map((route) => route.exec(c.req.path)).find(Boolean);
      if (!match || match[1] !== caller.taskId) throw new ApiError(403, 'this token may only report on its own task');
    }
    c.set('caller', caller);
    await next();
  };

  async function identify(presented: string | null): Promise<Caller | null> {
    if (presented === null) return apiToken ? null : { kind: 'anonymous' };
    const given = digest(presented);
    if (apiToken && timingSafeEqual(given, apiToken)) return { kind: 'api' };
    if (signalToken && timingSafeEqual(given, signalToken)) return { kind: 'signal' };
    const run = await resolveTaskToken(presented);
    if (run) return { kind: 'task', ...run };
    // An open API does not turn away a caller for sending a token it does not know.
    return apiToken || signalToken ? null : { kind: 'anonymous' };
  }
}

export function bearer(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

/** Fixed-length digests let timingSafeEqual compare tokens of any length. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
