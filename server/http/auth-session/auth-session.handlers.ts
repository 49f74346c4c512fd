import type { Context } from 'hono';
import { createHash, timingSafeEqual } from 'node:crypto';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppDeps, AppEnv, AppRouteHandler } from '../context.js';
import { ApiError } from '../errors.js';
import type * as routes from './auth-session.routes.js';
import { DEFAULT_SIGN_IN_TTL_S, SESSION_COOKIE, sessionCookies } from './session-cookie.js';

export function authSessionHandlers({ config }: AppDeps) {
  const apiToken = config.auth.apiToken;
  const cookies = apiToken ? sessionCookies(apiToken, config.auth.signInTtlS ?? DEFAULT_SIGN_IN_TTL_S) : null;

  const state: AppRouteHandler<typeof routes.getSignIn> = async (c) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    const signedIn = cookies !== null && cookie !== undefined && cookies.verify(cookie);
    return c.json({ auth_required: cookies !== null, signed_in: signedIn, csrf_token: signedIn ? cookies.csrfTokenFor(cookie) : null }, 200);
  };

  const signIn: AppRouteHandler<typeof routes.signIn> = async (c) => {
    const { token } = c.req.valid('json');
    if (!apiToken || !cookies) throw new ApiError(409, 'no API token is configured (ARBOR_API_TOKEN): the API is open and needs no sign-in');
    if (!sameToken(token, apiToken)) throw new ApiError(401, 'invalid token');
    const issued = cookies.issue();
    setCookie(c, SESSION_COOKIE, issued.value, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      secure: overHttps(c),
      expires: issued.expiresAt,
      maxAge: Math.round((issued.expiresAt.getTime() - Date.now()) / 1000),
    });
    return c.json({ csrf_token: issued.csrfToken, expires_at: issued.expiresAt.toISOString() }, 200);
  };

  const signOut: AppRouteHandler<typeof routes.signOut> = async (c) => {
    // Open, and needs no CSRF header: a forged sign-out only signs a person out.
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: overHttps(c), httpOnly: true, sameSite: 'Strict' });
    return c.body(null, 204);
  };

  return { state, signIn, signOut };
}

/** A cookie marked Secure is never sent back over plain http, so only mark it when the browser speaks https to us (or to a proxy in front). */
function overHttps(c: Context<AppEnv>): boolean {
  const forwarded = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return forwarded === 'https' || new URL(c.req.url).protocol === 'https:';
}

/** Digests first: timingSafeEqual needs equal lengths, and the token's length is not to be learnt either. */
function sameToken(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
