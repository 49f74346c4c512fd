import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Config } from '../config.js';
import { CSRF_HEADER, DEFAULT_SIGN_IN_TTL_S, SESSION_COOKIE, sessionCookies } from './auth-session/session-cookie.js';
import { ApiError } from './errors.js';
import type { AppEnv, Caller } from './context.js';

/**
 * Who is calling, and what they may call.
 *   - `ARBOR_API_TOKEN` (bearer): everything. When it is set, /api needs a token.
 *   - `ARBOR_SIGNAL_TOKEN` (bearer or `X-Internal-Token`, the header existing
 *     review bots send): the signal routes only.
 *   - a task token (bearer, given to each agent run): reading and reporting on
 *     its own task only.
 *   - the dashboard's sign-in cookie (see auth-session/session-cookie.ts): the
 *     same as the API token, but a write must also carry the CSRF header, since
 *     a browser sends cookies with requests other sites make. A bearer header,
 *     when present, decides alone: such callers need no CSRF header.
 * With no API token the API is open — config refuses that on anything but
 * loopback.
 */

const SIGNAL_ROUTES = [/^\/api\/signals\/resolve$/];
/** Routes that carry their own proof instead of a token: GitHub signs its webhook deliveries. */
const SELF_AUTHENTICATED_ROUTES = [/^\/api\/webhooks\/github$/];
/** Signing in (and out, and asking whether one is) needs no token: it is how the token is presented. */
const OPEN_ROUTES = [/^\/api\/auth\/session$/];
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** What a task token opens, for the task it was issued for. */
const TASK_ROUTES = [/^\/api\/tasks\/([^/]+)$/, /^\/api\/tasks\/([^/]+)\/(complete|block|subtasks)$/];

/** Looks a task token up; resolves the session (and its task) it was issued to while that run is live. */
export type TaskTokenResolver = (token: string) => Promise<{ taskId: string; sessionId: string } | null>;

export function authenticate(auth: Config['auth'], resolveTaskToken: TaskTokenResolver): MiddlewareHandler<AppEnv> {
  const apiToken = auth.apiToken ? digest(auth.apiToken) : null;
  const signalToken = auth.signalToken ? digest(auth.signalToken) : null;
  const cookies = auth.apiToken ? sessionCookies(auth.apiToken, auth.signInTtlS ?? DEFAULT_SIGN_IN_TTL_S) : null;
  return async (c, next) => {
    if ([...SELF_AUTHENTICATED_ROUTES, ...OPEN_ROUTES].some((route) => route.test(c.req.path))) {
      c.set('caller', { kind: 'anonymous' });
      return next();
    }
    const presented = bearer(c.req.header('authorization')) ?? c.req.header('x-internal-token') ?? null;
    const cookie = cookies && presented === null ? getCookie(c, SESSION_COOKIE) : undefined;
    if (cookies && cookie !== undefined) {
      if (!cookies.verify(cookie)) throw new ApiError(401, 'the sign-in has expired or is not valid; sign in again (POST /api/auth/session)');
      if (!SAFE_METHODS.has(c.req.method) && !cookies.csrfMatches(cookie, c.req.header(CSRF_HEADER))) {
        throw new ApiError(403, 'a write signed in by cookie needs the X-Arbor-CSRF header (the csrf_token from /api/auth/session)');
      }
      c.set('caller', { kind: 'api' });
      return next();
    }
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
