import { createRoute, z } from '@hono/zod-openapi';
import { IdParamSchema, NoArgumentsBody, bodyErrors, commonErrors, conflictError, jsonContent, notFoundError } from '../common.schemas.js';
import { LogLineSchema, SessionSchema } from './sessions.schemas.js';

const tags = ['sessions'];

export const listSessions = createRoute({
  method: 'get',
  path: '/api/sessions',
  tags,
  summary: 'Sessions, newest first',
  request: {
    query: z.object({
      goal_id: z.uuid().optional(),
      task_id: z.uuid().optional().openapi({ description: 'only the sessions that ran this task' }),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: { 200: jsonContent(z.object({ sessions: z.array(SessionSchema) }), 'sessions'), ...commonErrors },
});

export const getSession = createRoute({
  method: 'get',
  path: '/api/sessions/{id}',
  tags,
  summary: 'One session',
  request: { params: IdParamSchema },
  responses: { 200: jsonContent(SessionSchema, 'the session'), ...commonErrors, ...notFoundError },
});

export const sessionLogs = createRoute({
  method: 'get',
  path: '/api/sessions/{id}/logs',
  tags,
  summary: "A session's log: a JSON page, or with Accept: text/event-stream the lines as they come",
  request: {
    params: IdParamSchema,
    query: z.object({
      after: z.coerce.number().int().min(-1).default(-1).openapi({ description: 'return lines with a larger seq (0 is the marker of dropped lines)' }),
      before_seq: z.coerce
        .number()
        .int()
        .min(0)
        .max(Number.MAX_SAFE_INTEGER)
        .optional()
        .openapi({ description: 'page backwards: the `limit` lines just before this seq (and after `after`), oldest first; JSON only' }),
      limit: z.coerce.number().int().min(1).max(5000).default(1000),
    }),
  },
  responses: {
    200: {
      description: 'log lines',
      content: {
        'application/json': {
          schema: z
            .object({
              lines: z.array(LogLineSchema),
              next_after: z.number().int(),
              next_before: z
                .number()
                .int()
                .nullable()
                .openapi({ description: 'pass as before_seq for the page before this one; null when no older line is stored' }),
            })
            .openapi('SessionLogPage'),
        },
        'text/event-stream': { schema: z.string().openapi({ description: 'events `line` (data: a log line) and a final `end`' }) },
      },
    },
    ...commonErrors,
    ...notFoundError,
  },
});

export const stopSession = createRoute({
  method: 'post',
  path: '/api/sessions/{id}/stop',
  tags,
  summary: 'Stop a running session (SIGTERM to its process group, SIGKILL after a grace); its task becomes blocked',
  request: { params: IdParamSchema, body: NoArgumentsBody },
  responses: {
    202: jsonContent(z.object({ session: SessionSchema }), 'the stop was requested; the owning instance ends the process'),
    ...bodyErrors,
    ...notFoundError,
    ...conflictError,
  },
});
