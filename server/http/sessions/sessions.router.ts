import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.js';
import { validationHook } from '../errors.js';
import { sessionHandlers } from './sessions.handlers.js';
import * as routes from './sessions.routes.js';

export function sessionsRouter(deps: AppDeps) {
  const handlers = sessionHandlers(deps);
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
    .openapi(routes.listSessions, handlers.list)
    .openapi(routes.getSession, handlers.get)
    .openapi(routes.sessionLogs, handlers.logs)
    .openapi(routes.stopSession, handlers.stop);
}
