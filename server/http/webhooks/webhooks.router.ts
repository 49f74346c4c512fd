import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.js';
import { validationHook } from '../errors.js';
import { webhookHandlers } from './webhooks.handlers.js';
import * as routes from './webhooks.routes.js';

/** Webhooks from outside systems; each authenticates by its own signature, not by an API token. */
export function webhooksRouter(deps: AppDeps) {
  const handlers = webhookHandlers(deps);
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(routes.githubWebhook, handlers.github);
}
