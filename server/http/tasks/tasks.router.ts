import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.js';
import { validationHook } from '../errors.js';
import { taskHandlers } from './tasks.handlers.js';
import * as routes from './tasks.routes.js';
import { taskWorkHandlers } from './task-work.handlers.js';
import * as workRoutes from './task-work.routes.js';

export function tasksRouter(deps: AppDeps) {
  const handlers = taskHandlers(deps);
  const work = taskWorkHandlers(deps);
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
    .openapi(routes.getTask, handlers.get)
    .openapi(routes.retryTask, handlers.retry)
    .openapi(routes.completeTask, handlers.complete)
    .openapi(routes.blockTask, handlers.block)
    .openapi(routes.addSubtasks, handlers.addSubtasks)
    .openapi(routes.signalTask, handlers.signal)
    .openapi(routes.approveTask, handlers.approve)
    .openapi(routes.rejectTask, handlers.reject)
    .openapi(workRoutes.listTaskRuns, work.runs)
    .openapi(workRoutes.getTaskDiff, work.diff);
}
