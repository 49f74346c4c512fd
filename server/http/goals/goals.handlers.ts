import type { GoalCommand } from '../../domain/states.js';
import { insertGoalRequest, planGoalRequest, preflightProblem } from '../../goal-requests/goal-request.js';
import { applyGoalCommand, getGoal as findGoal, listGoals as pageGoals } from '../../store/goals.js';
import { progressOf } from '../../domain/goal-progress.js';
import { goalProgress } from '../../store/goal-progress.js';
import { listGoalTasks } from '../../store/tasks.js';
import { isUuid } from '../common.schemas.js';
import type { AppDeps, AppRouteHandler } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import { toTaskJson } from '../tasks/tasks.schemas.js';
import type * as routes from './goals.routes.js';
import { toGoalJson, toGoalWithProgressJson } from './goals.schemas.js';

export function goalHandlers({ db, config, goalPreflight }: AppDeps) {
  const create: AppRouteHandler<typeof routes.createGoal> = async (c) => {
    const planned = planGoalRequest(c.req.valid('json'), config.goals);
    if (!planned.ok) {
      // A tree rule names its task by key, as this API always has.
      const details = planned.problems.map((p) => (p.task !== undefined ? { task: p.task, message: p.message } : p));
      throw new ApiError(422, planned.message, details);
    }
    // Mistakes every run would meet, found now rather than after a failed attempt.
    const problem = await preflightProblem(planned.request, config.goals, goalPreflight);
    if (problem) throw new ApiError(422, problem.message, [problem]);
    const { goal, tasks } = await insertGoalRequest(db, planned, config.goals, {});
    return c.json({ goal: toGoalJson(goal), tasks: tasks.map(toTaskJson) }, 201);
  };

  const list: AppRouteHandler<typeof routes.listGoals> = async (c) => {
    const { status, limit, cursor } = c.req.valid('query');
    const page = await pageGoals(db, { status, limit, cursor });
    const progress = await goalProgress(db, page.goals.map((g) => g.id));
    return c.json({ goals: page.goals.map((g) => toGoalWithProgressJson(g, progress.get(g.id)!)), next_cursor: page.nextCursor }, 200);
  };

  const get: AppRouteHandler<typeof routes.getGoal> = async (c) => {
    const { id } = c.req.valid('param');
    const goal = isUuid(id) ? await findGoal(db, id) : undefined;
    if (!goal) throw notFound('goal');
    const tasks = await listGoalTasks(db, id);
    return c.json({ goal: toGoalWithProgressJson(goal, progressOf(tasks)), tasks: tasks.map(toTaskJson) }, 200);
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
