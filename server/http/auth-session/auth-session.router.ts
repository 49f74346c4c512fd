import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.js';
import { validationHook } from '../errors.js';
import { authSessionHandlers } from './auth-session.handlers.js';
import * as routes from './auth-session.routes.js';

export function authSessionRouter(deps: AppDeps) {
  const handlers = authSessionHandlers(deps);
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
    .openapi(routes.getSignIn, handlers.state)
    .openapi(routes.signIn, handlers.signIn)
    .openapi(routes.signOut, handlers.signOut);
}
