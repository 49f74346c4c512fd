import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.js';
import { validationHook } from '../errors.js';
import { eventHandlers } from './events.handlers.js';
import * as routes from './events.routes.js';

export function eventsRouter(deps: AppDeps) {
  const handlers = eventHandlers(deps);
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(routes.listEvents, handlers.list);
}
