import { createRoute } from '@hono/zod-openapi';
import { IdParamSchema, commonErrors, jsonContent, notFoundError } from '../common.schemas.js';
import { TaskDiffSchema, TaskRunsSchema } from './task-work.schemas.js';

/** What a task's agent runs did: the runs themselves, and the work on its branch. */

const tags = ['tasks'];

export const listTaskRuns = createRoute({
  method: 'get',
  path: '/api/tasks/{id}/runs',
  operationId: 'listTaskRuns',
  tags,
  summary: "A task's agent runs, oldest first: each attempt or rework, its prompt, its stretch of the session log and how it ended",
  request: { params: IdParamSchema },
  responses: { 200: jsonContent(TaskRunsSchema, 'the runs'), ...commonErrors, ...notFoundError },
});

export const getTaskDiff = createRoute({
  method: 'get',
  path: '/api/tasks/{id}/diff',
  operationId: 'getTaskDiff',
  tags,
  summary: "The task's branch against where it started, rendered from git",
  description:
    'A spawned task: its branch (or, once merged and deleted, the head its run recorded) against the commit its session started ' +
    'from. A pinned task: the goal branch from where its first run started to the head it recorded. No run yet: no branch, no files. ' +
    'The patch is cut at 1 MiB (`truncated`).',
  request: { params: IdParamSchema },
  responses: { 200: jsonContent(TaskDiffSchema, 'the diff'), ...commonErrors, ...notFoundError },
});
