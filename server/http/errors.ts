import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ValidationTargets } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from '@hono/zod-openapi';
import { MAX_JSON_DEPTH, findUnstorable } from '../domain/storable-text.js';
import type { AppEnv } from './context.js';

/**
 * The one error shape of the API: `{ error, details?, request_id }`. Handlers
 * throw `ApiError`; everything else that escapes becomes a 500 whose detail
 * stays in the log, never in the response.
 */

export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: 'goal not found' }),
    details: z.unknown().optional(),
    request_id: z.string(),
  })
  .openapi('Error');

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError(404, `${what} not found`);

/** A stream opened while the server shuts down would end at once: the client should come back (to the next instance). */
export const shuttingDown = () => new ApiError(503, 'the server is shutting down; reconnect shortly', undefined, { 'Retry-After': '1' });

export function errorResponse(c: Context<AppEnv>, status: ContentfulStatusCode, error: string, details?: unknown) {
  const body: z.infer<typeof ErrorSchema> = { error, request_id: c.get('requestId') ?? 'unknown' };
  if (details !== undefined) body.details = details;
  return c.json(body, status);
}

export function handleError(err: Error, c: Context<AppEnv>) {
  if (err instanceof ApiError) {
    for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
    return errorResponse(c, err.status, err.message, err.details);
  }
  if (err instanceof HTTPException) {
    // Hono's own exceptions: malformed JSON (400), a body of another type (415).
    const status = err.status as ContentfulStatusCode;
    const message = status === 415 ? 'request body must be application/json' : err.message || 'request rejected';
    return errorResponse(c, status, message);
  }
  c.get('logger')?.error({ err }, 'unhandled error');
  return errorResponse(c, 500, 'internal error');
}

/** zod issues in a form a client can act on: where, and what is wrong. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]) {
  return issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/**
 * The hook every route's validator uses: a wrong shape is 422, before any
 * handler runs. A shape that passes is then screened for what Postgres cannot
 * store (NUL, lone surrogates) and for nesting no serializer survives: refused
 * here, once for every route, so no write further in can fail on it.
 */
export function validationHook(
  result: ({ success: true; data: unknown } | { success: false; error: z.ZodError }) & { target: keyof ValidationTargets },
  c: Context<AppEnv>,
) {
  if (!result.success) return invalidRequest(c, 422, 'invalid request', describeIssues(result.error.issues));
  // Path parameters are ids: one that cannot be stored names nothing, and the handler answers 404.
  if (result.target === 'param') return undefined;
  const found = findUnstorable(result.data, MAX_JSON_DEPTH);
  if (!found) return undefined;
  const details = [{ path: found.path.join('.'), message: found.problem }];
  // A body is a document of the wrong content (422); a query or header is a malformed request line (400).
  return result.target === 'json' || result.target === 'form'
    ? invalidRequest(c, 422, 'invalid request', details)
    : invalidRequest(c, 400, `invalid ${result.target}`, details);
}

function invalidRequest(c: Context<AppEnv>, status: ContentfulStatusCode, what: string, details: { path: string; message: string }[]) {
  const first = details[0];
  const message = first ? `${what}: ${first.path ? `${first.path}: ` : ''}${first.message}` : what;
  return errorResponse(c, status, message, details);
}
