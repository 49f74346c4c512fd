import { randomUUID } from 'node:crypto';
import { getTemplate } from '../../store/templates.js';
import { deleteTrigger, getTrigger, insertTrigger, latestTriggerRuns, listTriggers } from '../../store/triggers.js';
import { preflightProblem } from '../../goal-requests/goal-request.js';
import { sampleValues, type ParameterSpecs } from '../../templates/substitution.js';
import { goalFromTemplate } from '../../templates/template-goals.js';
import { checkSchedule } from '../../triggers/cron-slots.js';
import { isUuid } from '../common.schemas.js';
import type { AppDeps, AppRouteHandler } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import type * as routes from './triggers.routes.js';
import { toTriggerJson } from './triggers.schemas.js';

export function triggerHandlers({ db, config, goalPreflight }: AppDeps) {
  const create: AppRouteHandler<typeof routes.createTrigger> = async (c) => {
    const body = c.req.valid('json');
    const template = await getTemplate(db, body.template);
    if (!template) throw new ApiError(422, `template "${body.template}" not found`, [{ path: 'template', message: 'no such template' }]);
    if (body.schedule) {
      const schedule = checkSchedule(body.schedule.cron, body.schedule.time_zone);
      if (!schedule.ok) throw new ApiError(422, `schedule: ${schedule.message}`, [{ path: 'schedule', message: schedule.message }]);
    }
    const specs = template.parameters as ParameterSpecs;
    const fromPayload = body.github?.params_from ?? {};
    const clashes = Object.keys(fromPayload).filter((name) => !Object.hasOwn(specs, name) || Object.hasOwn(body.params, name));
    if (clashes.length > 0) {
      const message = `github.params_from names parameters the template does not declare or params already sets: ${clashes.join(', ')}`;
      throw new ApiError(422, message, clashes.map((name) => ({ path: `github.params_from.${name}`, message })));
    }
    // Payload values are unknown until an event comes: stand-ins of their types let the rest be checked now.
    const standIns = sampleValues(Object.fromEntries(Object.keys(fromPayload).map((name) => [name, specs[name]!])));
    const made = goalFromTemplate(template, { ...body.params, ...standIns }, config.goals);
    if (!made.ok) throw new ApiError(422, made.message, made.problems);
    const problem = await preflightProblem(made.request, config.goals, goalPreflight);
    if (problem) throw new ApiError(422, problem.message, [problem]);

    const { github, schedule } = body;
    const trigger = await insertTrigger(db, {
      id: randomUUID(),
      templateName: template.name,
      kind: schedule ? 'schedule' : 'github',
      params: body.params,
      cron: schedule?.cron ?? null,
      timeZone: schedule?.time_zone ?? null,
      event: github?.event ?? null,
      filters: github ? dropUndefined({ action: github.action, repository: github.repository, label: github.label }) : {},
      paramsFrom: fromPayload,
    });
    return c.json({ trigger: toTriggerJson(trigger, undefined) }, 201);
  };

  const list: AppRouteHandler<typeof routes.listTriggers> = async (c) => {
    const triggers = await listTriggers(db);
    const runs = await latestTriggerRuns(db, triggers.map((t) => t.id));
    return c.json({ triggers: triggers.map((t) => toTriggerJson(t, runs.get(t.id))) }, 200);
  };

  const remove: AppRouteHandler<typeof routes.deleteTrigger> = async (c) => {
    const { id } = c.req.valid('param');
    const trigger = isUuid(id) ? await getTrigger(db, id) : undefined;
    if (!trigger || !(await deleteTrigger(db, id))) throw notFound('trigger');
    return c.json({ trigger: toTriggerJson(trigger, undefined) }, 200);
  };

  return { create, list, remove };
}

function dropUndefined(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
