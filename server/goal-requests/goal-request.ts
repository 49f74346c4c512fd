import type { z } from '@hono/zod-openapi';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { planGoalTree, type PlannedTask } from '../domain/goal-tree.js';
import { CreateGoalSchema } from './goal-request.schemas.js';
import type { GoalPreflight } from '../orchestrator/session-runner.js';
import { baseRefProblem } from '../sessions/goal-preflight.js';
import { insertGoalTree } from '../store/goals.js';

/**
 * A goal request that came from a template (by hand, a schedule or a GitHub
 * event), held to exactly the rules of `POST /api/goals`: the same schema, the
 * same tree planning, the same checks of what its runs will need.
 */

export type GoalRequest = z.infer<typeof CreateGoalSchema>;
export type GoalRules = Config['goals'];

export interface RequestProblem {
  path: string;
  message: string;
  /** The task a tree rule found wrong, by key. */
  task?: string;
}

export type CheckedGoalRequest =
  | { ok: true; request: GoalRequest; plan: PlannedTask[] }
  | { ok: false; message: string; problems: RequestProblem[] };

/** Shape and tree rules; no I/O. */
export function checkGoalRequest(body: unknown, rules: GoalRules): CheckedGoalRequest {
  const parsed = CreateGoalSchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
    const first = problems[0]!;
    return { ok: false, message: `${first.path ? `${first.path}: ` : ''}${first.message}`, problems };
  }
  return planGoalRequest(parsed.data, rules);
}

/** The tree rules for a request whose shape is known to be right (the API's route validated it). */
export function planGoalRequest(request: GoalRequest, rules: GoalRules): CheckedGoalRequest {
  const plan = planGoalTree(request.tasks, request.children_mode ?? 'sequential', {
    maxTasks: rules.maxTasksPerGoal,
    maxDepth: rules.maxTreeDepth,
  });
  if (!plan.ok) {
    const problems = plan.errors.map((e) => ({ path: e.task ? `tasks.${e.task}` : 'tasks', message: e.message, ...(e.task ? { task: e.task } : {}) }));
    const first = plan.errors[0]!;
    return { ok: false, message: first.task ? `task "${first.task}": ${first.message}` : first.message, problems };
  }
  const refProblem = baseRefProblem(request.base_ref ?? 'HEAD');
  if (refProblem) return { ok: false, message: refProblem.message, problems: [{ path: refProblem.field, message: refProblem.message }] };
  return { ok: true, request, plan: plan.tasks };
}

/** What the machine must have for the goal's runs (repository, base_ref, agent CLI); null when all is there. */
export async function preflightProblem(
  request: GoalRequest,
  rules: GoalRules,
  preflight: GoalPreflight | undefined,
): Promise<RequestProblem | null> {
  const problem = await preflight?.({ repo: request.repo, baseRef: request.base_ref ?? 'HEAD', agent: request.agent ?? rules.defaultAgent });
  return problem ? { path: problem.field, message: problem.message } : null;
}

/** Stores a checked request as a goal; in the caller's transaction when `db` is one. */
export function insertGoalRequest(db: Db, checked: { request: GoalRequest; plan: PlannedTask[] }, rules: GoalRules, origin: Record<string, unknown>) {
  const { request, plan } = checked;
  return insertGoalTree(
    db,
    {
      title: request.title,
      description: request.description ?? '',
      repo: request.repo,
      baseRef: request.base_ref ?? 'HEAD',
      agent: request.agent ?? rules.defaultAgent,
      childrenMode: request.children_mode ?? 'sequential',
      maxParallel: request.max_parallel ?? 4,
      // Where the goal came from (template, parameters, trigger), beside what the template itself set.
      metadata: { ...(request.metadata ?? {}), ...(request.pull_request ? { pull_request: request.pull_request } : {}), ...origin },
    },
    plan,
  );
}
