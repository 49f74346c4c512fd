import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The dashboard's sign-in: a cookie that stands for ARBOR_API_TOKEN, because a
 * browser's EventSource cannot send a bearer token.
 *
 * Stateless on purpose: the cookie is `v1.<expiry>.<nonce>.<mac>`, an HMAC
 * over its own expiry with a key derived from the API token. Nothing is
 * stored, so a sign-in survives restarts, works on every instance sharing the
 * token, and rotating the token ends every sign-in at once. The cost: sign-out
 * clears the browser's cookie but cannot revoke a copied one before it
 * expires (keep ARBOR_SIGN_IN_TTL_H short where that matters, or rotate the
 * token).
 *
 * The CSRF token is an HMAC of the cookie value under the same key: a page
 * that can read it (only ours, it comes in a JSON answer) proves it is not a
 * cross-site form riding on the cookie. Derived, so it needs no table either.
 */

export const SESSION_COOKIE = 'arbor_session';
export const CSRF_HEADER = 'x-arbor-csrf';

const VERSION = 'v1';

/** A week: long enough not to nag a person, short enough that a forgotten browser does not stay signed in for good. */
export const DEFAULT_SIGN_IN_TTL_S = 7 * 24 * 3600;

export interface SessionCookies {
  /** A new cookie value, valid until `expiresAt`, and its CSRF token. */
  issue(now?: Date): { value: string; csrfToken: string; expiresAt: Date };
  /** True when the value was issued with this key and has not expired. */
  verify(value: string, now?: Date): boolean;
  csrfTokenFor(value: string): string;
  /** Constant-time: does `given` equal the CSRF token of this cookie value? */
  csrfMatches(value: string, given: string | undefined): boolean;
}

export function sessionCookies(apiToken: string, lifetimeS: number): SessionCookies {
  // A key of its own, so a MAC shown to the browser is never a MAC under the token itself.
  const key = createHmac('sha256', apiToken).update('arbor sign-in cookie key').digest();
  const mac = (purpose: string, text: string) => createHmac('sha256', key).update(`${purpose}\n${text}`).digest('base64url');

  const csrfTokenFor = (value: string) => mac('csrf', value);
  return {
    issue(now = new Date()) {
      const expiresAt = new Date(Math.floor(now.getTime() / 1000) * 1000 + lifetimeS * 1000);
      const payload = `${VERSION}.${expiresAt.getTime() / 1000}.${randomBytes(16).toString('base64url')}`;
      const value = `${payload}.${mac('cookie', payload)}`;
      return { value, csrfToken: csrfTokenFor(value), expiresAt };
    },
    verify(value, now = new Date()) {
      const match = /^(v1\.(\d{1,12})\.[A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,64})$/.exec(value);
      if (!match) return false;
      if (!equalText(match[3]!, mac('cookie', match[1]!))) return false;
      return Number(match[2]) * 1000 > now.getTime();
    },
    csrfTokenFor,
    csrfMatches(value, given) {
      return given !== undefined && equalText(given, csrfTokenFor(value));
    },
  };
}

/** Constant time for equal lengths; a length mismatch reveals only the length of a public-format MAC. */
function equalText(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
