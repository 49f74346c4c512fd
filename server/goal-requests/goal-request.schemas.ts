import { z } from '@hono/zod-openapi';
import { PullRequestRequestSchema } from '../domain/pull-request-request.js';
import { classifyRepo } from '../domain/repo-location.js';
import { MAX_JSON_DEPTH, findUnstorable } from '../domain/storable-text.js';
import { AGENTS, CHILDREN_MODES, SESSION_POLICIES, TASK_KINDS } from '../domain/states.js';
import type { TaskSpec } from '../domain/goal-tree.js';

/**
 * Shapes only: lengths, types, enums, unknown fields. The rules that need the
 * whole tree (keys, edges, cycles, gates) are the domain's `planGoalTree`.
 */

export const TaskSpecSchema: z.ZodType<TaskSpec> = z
  .strictObject({
    key: z.string().min(1).max(100),
    title: z.string().min(1).max(500),
    instructions: z.string().max(200_000).optional(),
    acceptance: z.string().max(50_000).optional(),
    kind: z.enum(TASK_KINDS).optional(),
    session_policy: z.enum(SESSION_POLICIES).optional(),
    children_mode: z.enum(CHILDREN_MODES).optional(),
    agent: z.enum(AGENTS).optional(),
    depends_on: z.array(z.string().min(1).max(100)).max(1000).optional(),
    get children(): z.ZodOptional<z.ZodArray<z.ZodType<TaskSpec>>> {
      return z.array(TaskSpecSchema).optional();
    },
    gate: z.record(z.string(), z.unknown()).optional().openapi({
      description: 'for wait_for_signal tasks: {type, repo?, pr?, pr_url?, sha?, ...} or {all|any: [...]}; pr, pr_url, repo and sha may be {"from": "<task key>"}: bound when the gate opens to the pull request that task reported',
    }),
    priority: z.number().int().min(-1000).max(1000).optional(),
    max_attempts: z.number().int().min(1).max(20).optional(),
    timeout_s: z.number().int().min(1).max(7200).optional(),
    requires_approval: z.boolean().optional(),
    pull_request: PullRequestRequestSchema.optional().openapi({
      description:
        'for agent tasks: when the run succeeds Arbor opens (or updates) this pull request on GitHub (needs ARBOR_GITHUB_TOKEN) and reports it as result.pull_request',
    }),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('TaskSpec');

/** Runs before the recursive parse of a task tree, so a hostile depth cannot blow the stack. */
export function screenUnstorable(body: unknown, ctx: z.RefinementCtx): unknown {
  const found = findUnstorable(body, MAX_JSON_DEPTH);
  if (found) {
    ctx.addIssue({ code: 'custom', message: found.problem, path: found.path, input: body });
    return z.NEVER;
  }
  return body;
}

export const CreateGoalSchema = z
  .preprocess(
    screenUnstorable,
    z.strictObject({
      title: z.string().min(1).max(500),
      description: z.string().max(200_000).optional(),
      repo: z
        .string()
        .min(1)
        .max(4096)
        .refine((repo) => repo.startsWith('/') || classifyRepo(repo).kind === 'remote', 'must be an absolute path or a git URL (https, ssh, git, file)'),
      base_ref: z.string().min(1).max(255).regex(/^[^\s~^:?*[\\]+$/, 'must be a git ref').optional(),
      agent: z.enum(AGENTS).optional(),
      children_mode: z.enum(CHILDREN_MODES).optional(),
      max_parallel: z.number().int().min(1).max(1000).optional(),
      metadata: z.record(z.string(), z.unknown()).optional(),
      pull_request: PullRequestRequestSchema.optional().openapi({
        description:
          'Arbor opens one pull request for the goal branch when the first agent task succeeds, and updates it after each one (needs ARBOR_GITHUB_TOKEN); every agent task reports it as result.pull_request',
      }),
      tasks: z.array(TaskSpecSchema).min(1),
    }),
  )
  .openapi('CreateGoal');
