import { getTask as findTask } from '../../store/tasks.js';
import { isUuid } from '../common.schemas.js';
import type { AppDeps, AppRouteHandler } from '../context.js';
import { notFound } from '../errors.js';
import type * as routes from './tasks.routes.js';
import { toTaskJson } from './tasks.schemas.js';

export function taskHandlers({ db }: AppDeps) {
  const get: AppRouteHandler<typeof routes.getTask> = async (c) => {
    const { id } = c.req.valid('param');
    const task = isUuid(id) ? await findTask(db, id) : undefined;
    if (!task) throw notFound('task');
    return c.json(toTaskJson(task), 200);
  };
  return { get };
}
