import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import { mcpEndpoint, requireTaskToken } from '../mcp/mcp-endpoint.js';
import { findSessionByTokenHash } from '../store/sessions.js';
import { hashTaskToken, looksLikeTaskToken } from '../sessions/task-token.js';
import { authenticate } from './auth.js';
import { authSessionRouter } from './auth-session/auth-session.router.js';
import type { AppDeps, AppEnv } from './context.js';
import { errorResponse, handleError, validationHook } from './errors.js';
import { dashboardRouter } from './dashboard/dashboard.router.js';
import { eventsRouter } from './events/events.router.js';
import { goalsRouter } from './goals/goals.router.js';
import { healthRouter } from './health.router.js';
import { createHttpMetrics } from './metrics.js';
import { limitBodySize, observeRequests, requireJsonBody } from './request-guards.js';
import { sessionsRouter } from './sessions/sessions.router.js';
import { signalsRouter } from './signals/signals.router.js';
import { tasksRouter } from './tasks/tasks.router.js';
import { templatesRouter } from './templates/templates.router.js';
import { triggersRouter } from './triggers/triggers.router.js';
import { requireUtf8Body } from './utf8-body.js';
import { webhooksRouter } from './webhooks/webhooks.router.js';

/**
 * The HTTP app, built from its dependencies: no module-level state, so a test
 * builds one per database and several can live in one process.
 */
/** Either the bearer token or the dashboard's sign-in cookie (POST /api/auth/session). */
const SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }, { cookie: [] }];

export function createApp(deps: AppDeps) {
  const metrics = createHttpMetrics(deps.metricsRegistry);
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use('*', requestId());
  app.use('*', async (c, next) => {
    c.set('logger', deps.logger.child({ request_id: c.get('requestId') }));
    await next();
  });
  app.use('*', observeRequests(metrics));
  const resolveTaskToken = async (token: string) => {
    const session = looksLikeTaskToken(token) ? await findSessionByTokenHash(deps.db, hashTaskToken(token)) : undefined;
    return session ? { taskId: session.taskId, sessionId: session.id } : null;
  };
  app.use('/api/*', authenticate(deps.config.auth, resolveTaskToken));
  app.use('/mcp', requireTaskToken(resolveTaskToken));
  for (const path of ['/api/*', '/mcp']) {
    app.use(path, limitBodySize(deps.config.http.bodyLimitBytes));
    app.use(path, requireJsonBody());
    app.use(path, requireUtf8Body());
  }

  app.route('/', healthRouter(deps, metrics));
  app.route('/', authSessionRouter(deps));
  app.route('/', goalsRouter(deps));
  app.route('/', tasksRouter(deps));
  app.route('/', eventsRouter(deps));
  app.route('/', sessionsRouter(deps));
  app.route('/', signalsRouter(deps));
  app.route('/', webhooksRouter(deps));
  app.route('/', templatesRouter(deps));
  app.route('/', triggersRouter(deps));
  app.all('/mcp', mcpEndpoint(deps));
  if (deps.dashboard) app.route('/', dashboardRouter(deps.dashboard));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'cookie', { type: 'apiKey', in: 'cookie', name: 'arbor_session' });
  app.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: { title: 'Arbor', version: '0.1.0', description: 'Runs coding agents against a goal tree.' },
    servers: [{ url: serverUrl(deps.config, c.req.url) }],
    // The sign-in cookie (POST /api/auth/session) stands for the bearer token; writes with it need X-Arbor-CSRF.
    security: SECURITY,
  }));

  app.notFound((c) => errorResponse(c, 404, `no route for ${c.req.method} ${c.req.path}`));
  app.onError(handleError);
  return app;
}

export type App = ReturnType<typeof createApp>;

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/**
 * Where clients reach this API, for the document's `servers`: ARBOR_PUBLIC_URL
 * when set, else the address it listens on. A port picked at start (0) or a
 * wildcard host names no address a client can use, so the request's own
 * origin stands in.
 */
export function serverUrl(config: AppDeps['config'], requestUrl: string): string {
  const publicUrl = config.sessions?.publicUrl;
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  const { host, port } = config.http;
  if (port === 0 || WILDCARD_HOSTS.has(host)) return new URL(requestUrl).origin;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
