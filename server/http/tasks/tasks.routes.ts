import { createRoute } from '@hono/zod-openapi';
import { IdParamSchema, commonErrors, jsonContent, notFoundError } from '../common.schemas.js';
import { TaskSchema } from './tasks.schemas.js';

export const getTask = createRoute({
  method: 'get',
  path: '/api/tasks/{id}',
  tags: ['tasks'],
  summary: 'One task',
  request: { params: IdParamSchema },
  responses: { 200: jsonContent(TaskSchema, 'the task'), ...commonErrors, ...notFoundError },
});
