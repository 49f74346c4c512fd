import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.js';
import { validationHook } from '../errors.js';
import { triggerHandlers } from './triggers.handlers.js';
import * as routes from './triggers.routes.js';

export function triggersRouter(deps: AppDeps) {
  const handlers = triggerHandlers(deps);
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
    .openapi(routes.createTrigger, handlers.create)
    .openapi(routes.listTriggers, handlers.list)
    .openapi(routes.deleteTrigger, handlers.remove);
}
