import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.js';
import { validationHook } from '../errors.js';
import { templateHandlers } from './templates.handlers.js';
import * as routes from './templates.routes.js';

export function templatesRouter(deps: AppDeps) {
  const handlers = templateHandlers(deps);
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
    .openapi(routes.createTemplate, handlers.create)
    .openapi(routes.listTemplates, handlers.list)
    .openapi(routes.getTemplate, handlers.get)
    .openapi(routes.startTemplate, handlers.start);
}
