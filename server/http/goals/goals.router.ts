import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.js';
import { validationHook } from '../errors.js';
import { goalHandlers } from './goals.handlers.js';
import * as routes from './goals.routes.js';

export function goalsRouter(deps: AppDeps) {
  const handlers = goalHandlers(deps);
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
    .openapi(routes.createGoal, handlers.create)
    .openapi(routes.listGoals, handlers.list)
    .openapi(routes.getGoal, handlers.get)
    .openapi(routes.pauseGoal, handlers.pause)
    .openapi(routes.resumeGoal, handlers.resume)
    .openapi(routes.cancelGoal, handlers.cancel);
}
