import { createRoute, z } from '@hono/zod-openapi';
import { IdParamSchema, bodyErrors, commonErrors, jsonContent, notFoundError } from '../common.schemas.js';
import { CreateTriggerSchema, TriggerSchema } from './triggers.schemas.js';

const tags = ['triggers'];

export const createTrigger = createRoute({
  operationId: 'createTrigger',
  method: 'post',
  path: '/api/triggers',
  tags,
  summary: 'Start a template on a schedule or on a GitHub event',
  description:
    '`schedule`: a cron in a time zone; each slot starts one goal, once across every instance (after downtime, only the latest ' +
    'missed slot). `github`: a delivery to `POST /api/webhooks/github` of `event` that passes the filters starts one goal; a ' +
    'redelivery finds the same goal. The goal the trigger would make is checked now, like `POST /api/goals` (parameters taken ' +
    'from payloads with stand-in values); a miss is 422.',
  request: { body: { required: true, content: { 'application/json': { schema: CreateTriggerSchema } } } },
  responses: { 201: jsonContent(z.object({ trigger: TriggerSchema }), 'the stored trigger'), ...bodyErrors },
});

export const listTriggers = createRoute({
  operationId: 'listTriggers',
  method: 'get',
  path: '/api/triggers',
  tags,
  summary: 'Every trigger, oldest first, with its latest start',
  responses: { 200: jsonContent(z.object({ triggers: z.array(TriggerSchema) }), 'the triggers'), ...commonErrors },
});

export const deleteTrigger = createRoute({
  operationId: 'deleteTrigger',
  method: 'delete',
  path: '/api/triggers/{id}',
  tags,
  summary: 'Stop a trigger; the goals it started stay',
  request: { params: IdParamSchema },
  responses: { 200: jsonContent(z.object({ trigger: TriggerSchema }), 'the deleted trigger'), ...commonErrors, ...notFoundError },
});
