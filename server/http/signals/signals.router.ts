import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.js';
import { validationHook } from '../errors.js';
import { signalHandlers } from './signals.handlers.js';
import * as routes from './signals.routes.js';

export function signalsRouter(deps: AppDeps) {
  const handlers = signalHandlers(deps);
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
    .openapi(routes.resolveSignal, handlers.resolveSignal)
    .openapi(routes.listSignals, handlers.listSignals);
}
