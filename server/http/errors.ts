import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from '@hono/zod-openapi';
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

/** The hook every route's validator uses: a wrong shape is 422, before any handler runs. */
export function validationHook(
  result: { success: true } | { success: false; error: z.ZodError },
  c: Context<AppEnv>,
) {
  if (!result.success) {
    const details = describeIssues(result.error.issues);
    const first = details[0];
    const message = first ? `invalid request: ${first.path ? `${first.path}: ` : ''}${first.message}` : 'invalid request';
    return errorResponse(c, 422, message, details);
  }
  return undefined;
}
