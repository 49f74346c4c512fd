import { createRoute, z } from '@hono/zod-openapi';
import { IdParamSchema, NoArgumentsBody, bodyErrors, commonErrors, conflictError, jsonContent, notFoundError } from '../common.schemas.js';
import { TaskSpecSchema, screenUnstorable } from '../goals/goals.schemas.js';
import { CHILDREN_MODES } from '../../domain/states.js';
import { TaskSchema } from './tasks.schemas.js';

const tags = ['tasks'];

export const getTask = createRoute({
  operationId: 'getTask',
  method: 'get',
  path: '/api/tasks/{id}',
  tags,
  summary: 'One task',
  request: { params: IdParamSchema },
  responses: { 200: jsonContent(TaskSchema, 'the task'), ...commonErrors, ...notFoundError },
});

export const retryTask = createRoute({
  operationId: 'retryTask',
  method: 'post',
  path: '/api/tasks/{id}/retry',
  tags,
  summary: 'Run a failed or blocked task again, with a fresh budget of attempts',
  description: 'What its failure skipped is pending again, and a goal that failed with it is running again.',
  request: { params: IdParamSchema, body: NoArgumentsBody },
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
  operationId: 'completeTask',
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
  operationId: 'blockTask',
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

const heldResponses = {
  200: jsonContent(z.object({ task: TaskSchema }), 'the task after the decision'),
  ...bodyErrors,
  ...notFoundError,
  ...conflictError,
};

export const signalTask = createRoute({
  operationId: 'signalTask',
  method: 'post',
  path: '/api/tasks/{id}/signal',
  tags,
  summary: 'Decide one waiting gate directly: pass lets the tree go on, fail sends the work back (rework)',
  request: {
    params: IdParamSchema,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.strictObject({
            status: z.enum(['pass', 'fail']),
            summary: z.string().max(50_000).optional(),
            artifacts: z.unknown().optional(),
          }),
        },
      },
    },
  },
  responses: heldResponses,
});

export const approveTask = createRoute({
  operationId: 'approveTask',
  method: 'post',
  path: '/api/tasks/{id}/approve',
  tags,
  summary: 'Approve a task in review',
  request: {
    params: IdParamSchema,
    body: { required: false, content: { 'application/json': { schema: z.strictObject({ comment: z.string().max(50_000).optional() }) } } },
  },
  responses: heldResponses,
});

export const rejectTask = createRoute({
  operationId: 'rejectTask',
  method: 'post',
  path: '/api/tasks/{id}/reject',
  tags,
  summary: 'Reject a task in review: the work it reviews runs again with the feedback in its prompt',
  request: {
    params: IdParamSchema,
    body: { required: true, content: { 'application/json': { schema: z.strictObject({ feedback: z.string().min(1).max(50_000) }) } } },
  },
  responses: heldResponses,
});

const AddSubtasksSchema = z
  .preprocess(screenUnstorable, z.strictObject({ tasks: z.array(TaskSpecSchema).min(1).max(1000), children_mode: z.enum(CHILDREN_MODES).optional() }))
  .openapi('AddSubtasks');

export const addSubtasks = createRoute({
  operationId: 'addSubtasks',
  method: 'post',
  path: '/api/tasks/{id}/subtasks',
  tags,
  summary: "An agent adds tasks under its own running task (with its task token); the same as the MCP tool arbor_add_subtasks",
  description:
    "`tasks` has the shape of a goal's tasks. They start once the agent's run succeeds; the task then waits for them like a group.",
  request: {
    params: IdParamSchema,
    body: { required: true, content: { 'application/json': { schema: AddSubtasksSchema } } },
  },
  responses: {
    201: jsonContent(z.object({ tasks: z.array(TaskSchema) }), 'the tasks added'),
    ...bodyErrors,
    ...notFoundError,
    ...conflictError,
  },
});
