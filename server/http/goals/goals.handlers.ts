import { planGoalTree } from '../../domain/goal-tree.js';
import type { GoalCommand } from '../../domain/states.js';
import { baseRefProblem } from '../../sessions/goal-preflight.js';
import { applyGoalCommand, getGoal as findGoal, insertGoalTree, listGoals as pageGoals } from '../../store/goals.js';
import { listGoalTasks } from '../../store/tasks.js';
import { isUuid } from '../common.schemas.js';
import type { AppDeps, AppRouteHandler } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import { toTaskJson } from '../tasks/tasks.schemas.js';
import type * as routes from './goals.routes.js';
import { toGoalJson } from './goals.schemas.js';

export function goalHandlers({ db, config, goalPreflight }: AppDeps) {
  const create: AppRouteHandler<typeof routes.createGoal> = async (c) => {
    const body = c.req.valid('json');
    const baseRef = body.base_ref ?? 'HEAD';
    const agent = body.agent ?? config.goals.defaultAgent;
    const plan = planGoalTree(body.tasks, body.children_mode ?? 'sequential', {
      maxTasks: config.goals.maxTasksPerGoal,
      maxDepth: config.goals.maxTreeDepth,
    });
    if (!plan.ok) {
      const first = plan.errors[0]!;
      throw new ApiError(422, first.task ? `task "${first.task}": ${first.message}` : first.message, plan.errors);
    }
    // Mistakes every run would meet, found now rather than after a failed attempt.
    const problem = baseRefProblem(baseRef) ?? (await goalPreflight?.({ repo: body.repo, baseRef, agent }));
    if (problem) throw new ApiError(422, problem.message, [{ path: problem.field, message: problem.message }]);
    const { goal, tasks } = await insertGoalTree(
      db,
      {
        title: body.title,
        description: body.description ?? '',
        repo: body.repo,
        baseRef,
        agent,
        childrenMode: body.children_mode ?? 'sequential',
        maxParallel: body.max_parallel ?? 4,
        metadata: body.metadata ?? {},
      },
      plan.tasks,
    );
    return c.json({ goal: toGoalJson(goal), tasks: tasks.map(toTaskJson) }, 201);
  };

  const list: AppRouteHandler<typeof routes.listGoals> = async (c) => {
    const { status, limit, cursor } = c.req.valid('query');
    const page = await pageGoals(db, { status, limit, cursor });
    return c.json({ goals: page.goals.map(toGoalJson), next_cursor: page.nextCursor }, 200);
  };

  const get: AppRouteHandler<typeof routes.getGoal> = async (c) => {
    const { id } = c.req.valid('param');
    const goal = isUuid(id) ? await findGoal(db, id) : undefined;
    if (!goal) throw notFound('goal');
    const tasks = await listGoalTasks(db, id);
    return c.json({ goal: toGoalJson(goal), tasks: tasks.map(toTaskJson) }, 200);
  };

  const command =
    (name: GoalCommand): AppRouteHandler<typeof routes.pauseGoal> =>
    async (c) => {
      const { id } = c.req.valid('param');
      if (!isUuid(id)) throw notFound('goal');
      const result = await applyGoalCommand(db, id, name);
      if (result.outcome === 'not_found') throw notFound('goal');
      if (result.outcome === 'conflict') throw new ApiError(409, result.reason);
      return c.json({ goal: toGoalJson(result.goal) }, 200);
    };

  return { create, list, get, pause: command('pause'), resume: command('resume'), cancel: command('cancel') };
}
