import { z } from '@hono/zod-openapi';
import type { GoalProgress } from '../../domain/goal-progress.js';
import { CHILDREN_MODES, GOAL_STATUSES, TASK_STATUSES } from '../../domain/states.js';
import type { Goal } from '../../store/goals.js';
import { bigintString } from '../common.schemas.js';

// The request shapes live with the goal requests, which templates and the MCP tools check too.
export { CreateGoalSchema, TaskSpecSchema, screenUnstorable } from '../../goal-requests/goal-request.schemas.js';
import { TaskSchema, iso } from '../tasks/tasks.schemas.js';

export const GoalsQuerySchema = z.object({
  status: z.enum(GOAL_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: bigintString('must be a next_cursor from a previous page').optional(),
});

export const GoalSchema = z
  .object({
    id: z.uuid(),
    title: z.string(),
    description: z.string(),
    repo: z.string(),
    base_ref: z.string(),
    branch: z.string().nullable(),
    agent: z.string(),
    children_mode: z.enum(CHILDREN_MODES),
    status: z.enum(GOAL_STATUSES),
    max_parallel: z.number().int(),
    metadata: z.record(z.string(), z.unknown()),
    cost_usd: z.number(),
    input_tokens: z.number(),
    output_tokens: z.number(),
    created_at: z.string(),
    updated_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .openapi('Goal');

export const GoalWithTasksSchema = z.object({ goal: GoalSchema, tasks: z.array(TaskSchema) }).openapi('GoalWithTasks');

export const GoalProgressSchema = z
  .object({
    total: z.number().int().openapi({ description: "the goal's tasks, groups not counted" }),
    by_status: z.record(z.enum(TASK_STATUSES), z.number().int()).openapi({ description: 'those tasks by status; every status present' }),
  })
  .openapi('GoalProgress');

/** A goal as the read routes show it: with how far its tasks have come. */
export const GoalWithProgressSchema = GoalSchema.extend({ progress: GoalProgressSchema }).openapi('GoalWithProgress');

export const GoalDetailSchema = z.object({ goal: GoalWithProgressSchema, tasks: z.array(TaskSchema) }).openapi('GoalDetail');

export const GoalPageSchema = z
  .object({ goals: z.array(GoalWithProgressSchema), next_cursor: z.string().nullable() })
  .openapi('GoalPage');

export function toGoalWithProgressJson(goal: Goal, progress: GoalProgress): z.infer<typeof GoalWithProgressSchema> {
  return { ...toGoalJson(goal), progress };
}

export function toGoalJson(goal: Goal): z.infer<typeof GoalSchema> {
  return {
    id: goal.id,
    title: goal.title,
    description: goal.description,
    repo: goal.repo,
    base_ref: goal.baseRef,
    branch: goal.branch,
    agent: goal.agent,
    children_mode: goal.childrenMode,
    status: goal.status,
    max_parallel: goal.maxParallel,
    metadata: goal.metadata,
    cost_usd: Number(goal.costUsd),
    input_tokens: Number(goal.inputTokens),
    output_tokens: Number(goal.outputTokens),
    created_at: goal.createdAt.toISOString(),
    updated_at: goal.updatedAt.toISOString(),
    started_at: iso(goal.startedAt),
    finished_at: iso(goal.finishedAt),
  };
}
