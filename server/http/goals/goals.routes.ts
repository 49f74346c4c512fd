import { createRoute, z } from '@hono/zod-openapi';
import { IdParamSchema, NoArgumentsBody, bodyErrors, commonErrors, conflictError, jsonContent, notFoundError } from '../common.schemas.js';
import { CreateGoalSchema, GoalDetailSchema, GoalPageSchema, GoalSchema, GoalWithTasksSchema, GoalsQuerySchema } from './goals.schemas.js';

const tags = ['goals'];

export const createGoal = createRoute({
  method: 'post',
  path: '/api/goals',
  tags,
  summary: 'Create a goal with its whole task tree',
  description:
    'Before the goal is stored, what its runs will need is checked: `repo` is a git repository, `base_ref` names a commit in it, ' +
    "the agent's CLI is installed. A miss is 422, naming the field in `details[].path` and what to do. An instance that runs no " +
    'agents (`ARBOR_ROLE=api`) checks only a repository it can see.',
  request: { body: { required: true, content: { 'application/json': { schema: CreateGoalSchema } } } },
  responses: {
    201: jsonContent(GoalWithTasksSchema, 'the stored goal and its tasks, flattened in tree order'),
    ...bodyErrors,
  },
});

export const listGoals = createRoute({
  method: 'get',
  path: '/api/goals',
  tags,
  summary: 'List goals, newest first',
  request: {
    query: GoalsQuerySchema,
  },
  responses: { 200: jsonContent(GoalPageSchema, 'a page of goals'), ...commonErrors },
});

export const getGoal = createRoute({
  method: 'get',
  path: '/api/goals/{id}',
  tags,
  summary: 'A goal with its tasks',
  request: { params: IdParamSchema },
  responses: { 200: jsonContent(GoalDetailSchema, 'the goal, with its progress'), ...commonErrors, ...notFoundError },
});

const goalCommand = (command: 'pause' | 'resume' | 'cancel', summary: string) =>
  createRoute({
    method: 'post',
    path: `/api/goals/{id}/${command}`,
    tags,
    summary,
    request: { params: IdParamSchema, body: NoArgumentsBody },
    responses: {
      200: jsonContent(z.object({ goal: GoalSchema }), 'the goal after the change'),
      ...bodyErrors,
      ...notFoundError,
      ...conflictError,
    },
  });

export const pauseGoal = goalCommand('pause', 'Stop dispatching new tasks; running ones finish');
export const resumeGoal = goalCommand('resume', 'Dispatch again after a pause');
export const cancelGoal = goalCommand('cancel', 'Cancel every unfinished task and stop running sessions');
