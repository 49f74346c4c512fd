import { z } from '@hono/zod-openapi';
import { CHILDREN_MODES, SESSION_POLICIES, TASK_KINDS, TASK_ROUTES, TASK_STATUSES } from '../../domain/states.js';
import type { TaskWithDeps } from '../../store/tasks.js';
import { GateSchema } from './gate.schemas.js';
import { TaskResultSchema } from './task-result.schemas.js';

export const TaskSchema = z
  .object({
    id: z.uuid(),
    goal_id: z.uuid(),
    parent_id: z.uuid().nullable(),
    key: z.string(),
    position: z.number().int(),
    depth: z.number().int(),
    title: z.string(),
    instructions: z.string(),
    acceptance: z.string().nullable(),
    kind: z.enum(TASK_KINDS),
    session_policy: z.enum(SESSION_POLICIES),
    route: z.enum(TASK_ROUTES).openapi({ description: 'the lane session_policy resolved to' }),
    children_mode: z.enum(CHILDREN_MODES),
    agent: z.string().nullable(),
    status: z.enum(TASK_STATUSES),
    priority: z.number().int(),
    attempt: z.number().int(),
    max_attempts: z.number().int(),
    not_before: z.string().nullable(),
    timeout_s: z.number().int().nullable(),
    requires_approval: z.boolean(),
    // A union, not .nullable(): a nullable copy of a named schema takes over its name in the document.
    gate: z.union([GateSchema, z.null()]),
    gate_bound: z.union([GateSchema, z.null()]).openapi({
      description: 'the gate as bound when it opened: attributes taken {"from": key} filled in (repo, pr, head sha); null before that',
    }),
    result: z.union([TaskResultSchema, z.null()]),
    error: z.string().nullable(),
    cost_usd: z.number().openapi({ description: "what the task's agent runs cost, over all its attempts" }),
    input_tokens: z.number(),
    output_tokens: z.number(),
    depends_on: z.array(z.uuid()).openapi({ description: 'ids of the tasks this one waits for' }),
    session_id: z.uuid().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    updated_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .openapi('Task');

export type TaskJson = z.infer<typeof TaskSchema>;

export function toTaskJson(task: TaskWithDeps): TaskJson {
  return {
    id: task.id,
    goal_id: task.goalId,
    parent_id: task.parentId,
    key: task.key,
    position: task.position,
    depth: task.depth,
    title: task.title,
    instructions: task.instructions,
    acceptance: task.acceptance,
    kind: task.kind,
    session_policy: task.sessionPolicy,
    route: task.route,
    children_mode: task.childrenMode,
    agent: task.agent,
    status: task.status,
    priority: task.priority,
    attempt: task.attempt,
    max_attempts: task.maxAttempts,
    not_before: iso(task.notBefore),
    timeout_s: task.timeoutS,
    requires_approval: task.requiresApproval,
    // Stored by gateToSpec and the run's outcome: the shapes the schemas describe.
    gate: task.gate as z.infer<typeof GateSchema> | null,
    gate_bound: (task.gateBound ?? null) as z.infer<typeof GateSchema> | null,
    result: task.result as z.infer<typeof TaskResultSchema> | null,
    error: task.error,
    cost_usd: Number(task.costUsd),
    input_tokens: Number(task.inputTokens),
    output_tokens: Number(task.outputTokens),
    depends_on: task.dependsOn,
    session_id: task.sessionId,
    metadata: task.metadata,
    created_at: task.createdAt.toISOString(),
    updated_at: task.updatedAt.toISOString(),
    started_at: iso(task.startedAt),
    finished_at: iso(task.finishedAt),
  };
}

export function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}
