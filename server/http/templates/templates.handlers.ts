import { getTemplate as findTemplate, insertTemplate, listTemplates as allTemplates } from '../../store/templates.js';
import { insertGoalRequest, preflightProblem } from '../../goal-requests/goal-request.js';
import { checkTemplate } from '../../templates/template-definition.js';
import { goalFromTemplate } from '../../templates/template-goals.js';
import type { AppDeps, AppRouteHandler } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import { toGoalJson } from '../goals/goals.schemas.js';
import { toTaskJson } from '../tasks/tasks.schemas.js';
import type * as routes from './templates.routes.js';
import { toTemplateJson } from './templates.schemas.js';

export function templateHandlers({ db, config, goalPreflight }: AppDeps) {
  const create: AppRouteHandler<typeof routes.createTemplate> = async (c) => {
    const template = c.req.valid('json');
    const checked = checkTemplate(template, config.goals);
    if (!checked.ok) throw new ApiError(422, checked.message, checked.problems);
    const stored = await insertTemplate(db, {
      name: template.name,
      description: template.description ?? '',
      parameters: template.parameters,
      body: template.body,
    });
    if (!stored) throw new ApiError(409, `a template named "${template.name}" already exists`);
    return c.json({ template: toTemplateJson(stored) }, 201);
  };

  const list: AppRouteHandler<typeof routes.listTemplates> = async (c) => {
    return c.json({ templates: (await allTemplates(db)).map(toTemplateJson) }, 200);
  };

  const get: AppRouteHandler<typeof routes.getTemplate> = async (c) => {
    const template = await findTemplate(db, c.req.valid('param').name);
    if (!template) throw notFound('template');
    return c.json({ template: toTemplateJson(template) }, 200);
  };

  const start: AppRouteHandler<typeof routes.startTemplate> = async (c) => {
    const template = await findTemplate(db, c.req.valid('param').name);
    if (!template) throw notFound('template');
    const made = goalFromTemplate(template, c.req.valid('json')?.params ?? {}, config.goals);
    if (!made.ok) throw new ApiError(422, made.message, made.problems);
    const problem = await preflightProblem(made.request, config.goals, goalPreflight);
    if (problem) throw new ApiError(422, problem.message, [problem]);
    const { goal, tasks } = await insertGoalRequest(db, made, config.goals, { template: { name: template.name, params: made.values } });
    return c.json({ goal: toGoalJson(goal), tasks: tasks.map(toTaskJson) }, 201);
  };

  return { create, list, get, start };
}
