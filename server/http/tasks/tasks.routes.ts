import { createRoute, z } from '@hono/zod-openapi';
import { IdParamSchema, bodyErrors, commonErrors, conflictError, jsonContent, notFoundError } from '../common.schemas.js';
import { TaskSchema } from './tasks.schemas.js';

const tags = ['tasks'];

export const getTask = createRoute({
  method: 'get',
  path: '/api/tasks/{id}',
  tags,
  summary: 'One task',
  request: { params: IdParamSchema },
  responses: { 200: jsonContent(TaskSchema, 'the task'), ...commonErrors, ...notFoundError },
});

export const retryTask = createRoute({
  method: 'post',
  path: '/api/tasks/{id}/retry',
  tags,
  summary: 'Run a failed or blocked task again, with a fresh budget of attempts',
  description: 'What its failure skipped is pending again, and a goal that failed with it is running again.',
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(z.object({ task: TaskSchema }), 'the task, pending again'),
    ...bodyErrors,
    ...notFoundError,
    ...conflictError,
  },
});

const reportResponses = {
  200: jsonContent(z.object({ recorded: z.literal(true) }), 'kept; it decides the task when the agent exits'),
  ...bodyErrors,
  ...notFoundError,
  ...conflictError,
};

export const completeTask = createRoute({
  method: 'post',
  path: '/api/tasks/{id}/complete',
  tags,
  summary: "An agent reports its task done (with its task token); this beats the process's exit code",
  request: {
    params: IdParamSchema,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.strictObject({ summary: z.string().max(50_000).optional(), artifacts: z.unknown().optional() }),
        },
      },
    },
  },
  responses: reportResponses,
});

export const blockTask = createRoute({
  method: 'post',
  path: '/api/tasks/{id}/block',
  tags,
  summary: 'An agent reports it cannot go on without a person; the task becomes blocked when it exits',
  request: {
    params: IdParamSchema,
    body: { required: true, content: { 'application/json': { schema: z.strictObject({ reason: z.string().min(1).max(10_000) }) } } },
  },
  responses: reportResponses,
});
