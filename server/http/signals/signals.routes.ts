import { createRoute, z } from '@hono/zod-openapi';
import { bodyErrors, commonErrors, jsonContent } from '../common.schemas.js';
import { ResolveResultSchema, ResolveSignalSchema, SignalSchema } from './signals.schemas.js';

const tags = ['signals'];

export const resolveSignal = createRoute({
  operationId: 'resolveSignal',
  method: 'post',
  path: '/api/signals/resolve',
  tags,
  summary: 'Post a signal (CI, a review bot, a person); it resolves every waiting gate it matches',
  description:
    'Stored first, so a gate that opens later still applies it. The same idempotency_key is applied once. ' +
    'Accepts ARBOR_SIGNAL_TOKEN (bearer or X-Internal-Token) as well as the API token. ' +
    'With ARBOR_GITHUB_TOKEN, a gh_ci signal naming a pull request is checked against the checks API for the ' +
    "pull request's current head (the posted verdict counting as one more check of that head); 202 while checks still run.",
  request: { body: { required: true, content: { 'application/json': { schema: ResolveSignalSchema } } } },
  responses: {
    200: jsonContent(ResolveResultSchema, 'the stored signal and the gates it matched'),
    202: jsonContent(z.object({ pending: z.string() }), "gh_ci with a GitHub token: checks of the pull request's head still run; nothing stored"),
    ...bodyErrors,
  },
});

export const listSignals = createRoute({
  operationId: 'listSignals',
  method: 'get',
  path: '/api/signals',
  tags,
  summary: 'Signals received, newest first, with what each resolved',
  request: {
    query: z.object({
      type: z.string().max(64).optional(),
      repo: z.string().max(200).optional(),
      pr: z.coerce.number().int().positive().optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      cursor: z.uuid().optional().openapi({ description: 'next_cursor of the previous page' }),
    }),
  },
  responses: {
    200: jsonContent(z.object({ signals: z.array(SignalSchema), next_cursor: z.uuid().nullable() }), 'a page of signals'),
    ...commonErrors,
  },
});
