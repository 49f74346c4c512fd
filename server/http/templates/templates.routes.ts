import { createRoute, z } from '@hono/zod-openapi';
import { bodyErrors, commonErrors, conflictError, jsonContent, notFoundError } from '../common.schemas.js';
import { GoalWithTasksSchema } from '../goals/goals.schemas.js';
import { CreateTemplateSchema, StartTemplateSchema, TemplateNameParamSchema, TemplateSchema } from './templates.schemas.js';

const tags = ['templates'];

export const createTemplate = createRoute({
  operationId: 'createTemplate',
  method: 'post',
  path: '/api/templates',
  tags,
  summary: 'Store a goal template',
  description:
    'A template is a `POST /api/goals` request whose strings may hold `{{parameter}}` placeholders. Before it is stored, every ' +
    'placeholder must name a declared parameter and the body, filled with each parameter\'s `example` (else its `default`, else a ' +
    'stand-in of its type), must pass every rule of `POST /api/goals`; a miss is 422. A name already taken is 409.',
  request: { body: { required: true, content: { 'application/json': { schema: CreateTemplateSchema } } } },
  responses: {
    201: jsonContent(z.object({ template: TemplateSchema }), 'the stored template'),
    ...bodyErrors,
    409: conflictError[409],
  },
});

export const listTemplates = createRoute({
  operationId: 'listTemplates',
  method: 'get',
  path: '/api/templates',
  tags,
  summary: 'Every template, by name',
  responses: { 200: jsonContent(z.object({ templates: z.array(TemplateSchema) }), 'the templates'), ...commonErrors },
});

export const getTemplate = createRoute({
  operationId: 'getTemplate',
  method: 'get',
  path: '/api/templates/{name}',
  tags,
  summary: 'One template',
  request: { params: TemplateNameParamSchema },
  responses: { 200: jsonContent(z.object({ template: TemplateSchema }), 'the template'), ...commonErrors, ...notFoundError },
});

export const startTemplate = createRoute({
  operationId: 'startTemplate',
  method: 'post',
  path: '/api/templates/{name}/goals',
  tags,
  summary: 'Create a goal from a template',
  description:
    'Fills the template with `params` (values are inserted as text, never read as placeholders themselves) and creates the goal ' +
    'exactly as `POST /api/goals` would. Unknown, missing or mistyped parameters are 422, each named in `details`.',
  request: { params: TemplateNameParamSchema, body: { required: false, content: { 'application/json': { schema: StartTemplateSchema } } } },
  responses: {
    201: jsonContent(GoalWithTasksSchema, 'the stored goal and its tasks'),
    ...bodyErrors,
    ...notFoundError,
  },
});
