import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Handler, MiddlewareHandler } from 'hono';
import { MAX_JSON_DEPTH, findUnstorable } from '../domain/storable-text.js';
import { bearer, type TaskTokenResolver } from '../http/auth.js';
import type { AppEnv } from '../http/context.js';
import { ApiError } from '../http/errors.js';
import { createArborMcpServer, type ToolDeps } from './arbor-tools.js';

/**
 * Arbor's MCP server over Streamable HTTP, at `/mcp`, for agents only.
 *
 * Stateless: each POST gets its own server and transport, bound to the run
 * the caller's task token belongs to, and answers with plain JSON. Nothing of
 * a conversation lives in this process, so any instance behind the same
 * address serves any request and a restart loses nothing; an agent's run is
 * already identified by its token, so MCP sessions would add nothing but
 * state. The server never pushes, so GET (a server-to-client stream) is 405.
 */

/** Only a live run's task token opens `/mcp`: the API and signal tokens speak for no task. */
export function requireTaskToken(resolveTaskToken: TaskTokenResolver): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const presented = bearer(c.req.header('authorization'));
    const run = presented ? await resolveTaskToken(presented) : null;
    if (!run) {
      throw new ApiError(401, presented ? 'this endpoint takes the task token of a running agent' : 'missing bearer token', undefined, {
        'WWW-Authenticate': presented ? 'Bearer realm="arbor", error="invalid_token"' : 'Bearer realm="arbor"',
      });
    }
    c.set('caller', { kind: 'task', ...run });
    await next();
  };
}

export function mcpEndpoint(deps: ToolDeps): Handler<AppEnv> {
  return async (c) => {
    const caller = c.get('caller');
    if (caller.kind !== 'task') throw new ApiError(401, 'this endpoint takes the task token of a running agent');
    if (c.req.method !== 'POST') throw new ApiError(405, 'this MCP server is stateless: POST JSON-RPC messages', undefined, { Allow: 'POST' });
    // Read once (the guards before have checked its size and UTF-8), screened as the REST API screens a body.
    let parsedBody: unknown;
    try {
      parsedBody = JSON.parse(await c.req.text());
    } catch {
      throw new ApiError(400, 'the body is not valid JSON');
    }
    const found = findUnstorable(parsedBody, MAX_JSON_DEPTH);
    if (found) {
      const path = found.path.join('.');
      throw new ApiError(422, `invalid request: ${path ? `${path}: ` : ''}${found.problem}`, [{ path, message: found.problem }]);
    }
    const server = createArborMcpServer(deps, { taskId: caller.taskId, sessionId: caller.sessionId });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw, { parsedBody });
    } finally {
      // A JSON answer is complete once returned: nothing of this request stays behind.
      await server.close();
    }
  };
}
