import type { ApiErrorBody } from './types.js';

/**
 * Calls to Arbor's API from the browser. The session cookie rides along by
 * itself (same origin); writes carry the CSRF token the sign-in returned.
 */

let csrfToken: string | null = null;
let onSignedOut: () => void = () => {};

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when the API says the session is gone (401), so the app can show the sign-in form. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, options: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-arbor-csrf'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiFailure(0, 'Arbor did not answer; is it running?', null);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const error = body as ApiErrorBody | null;
    if (res.status === 401 && !path.startsWith('/api/auth/')) onSignedOut();
    throw new ApiFailure(res.status, error?.error ?? `${res.status} ${res.statusText}`, error?.details ?? null);
  }
  return body as T;
}

/** One line per problem in a 422's details, as the API names them (path: message). */
export function describeDetails(details: unknown): string[] {
  if (!Array.isArray(details)) return [];
  return details.map((d) => {
    if (d && typeof d === 'object') {
      const item = d as { path?: unknown; message?: unknown };
      const where = Array.isArray(item.path) ? item.path.join('.') : typeof item.path === 'string' ? item.path : '';
      const what = typeof item.message === 'string' ? item.message : JSON.stringify(d);
      return where ? `${where}: ${what}` : what;
    }
    return String(d);
  });
}
