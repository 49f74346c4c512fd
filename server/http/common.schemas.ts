import { z } from '@hono/zod-openapi';
import { ErrorSchema } from './errors.js';

export const IdParamSchema = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: '3f1c2b9e-6a0d-4a3e-9a53-2c1f0c7b8d11' }),
});

/**
 * The body of a command that takes no arguments (pause, retry, stop...): none
 * at all, or `{}`. Anything else — malformed JSON, unknown fields — is refused
 * before the command runs, rather than ignored.
 */
export const NoArgumentsBody = {
  required: false,
  content: { 'application/json': { schema: z.strictObject({}) } },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are opaque to clients: one that is not even a uuid is simply not found. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}

/** Server-Sent Events only for a client that asks for them by name; everything else gets JSON. */
export function wantsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept);
}

const MAX_BIGINT = 2n ** 63n - 1n;

/** A Postgres bigint as clients pass it back (an event id, a page cursor): a string of digits, in range. */
export function bigintString(message: string) {
  return z
    .string()
    .refine((id) => /^\d{1,19}$/.test(id) && BigInt(id) <= MAX_BIGINT, message)
    .openapi({ pattern: '^\\d{1,19}$' });
}

const error = (description: string) => ({ description, content: { 'application/json': { schema: ErrorSchema } } });

/** The error answers every /api route can give, for the OpenAPI document. */
export const commonErrors = {
  400: error('the query or a header holds text that cannot be stored (NUL, a lone surrogate)'),
  401: error('missing or invalid token'),
  403: error('the token may not call this route'),
  422: error('the request has the wrong shape'),
} as const;

export const bodyErrors = {
  ...commonErrors,
  400: error('the body is not valid UTF-8 JSON, or the query holds text that cannot be stored'),
  413: error('the body is too large'),
  415: error('the body is not application/json'),
} as const;

export const notFoundError = { 404: error('no such resource') } as const;
export const conflictError = { 409: error('the transition is not allowed in the current state') } as const;

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}
