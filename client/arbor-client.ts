import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './arbor-api.js';
import { readServerSentEvents } from './event-stream.js';

/**
 * The typed client of Arbor's API: openapi-fetch over the types generated
 * from Arbor's own OpenAPI document (client/arbor-api.d.ts, `npm run
 * generate:client`). Imports nothing from the server.
 */

export type Schemas = components['schemas'];
export type Goal = Schemas['Goal'];
export type Task = Schemas['Task'];
export type Session = Schemas['Session'];
export type ArborEvent = Schemas['Event'];
export type LogLine = Schemas['SessionLogLine'];
export type ApiPaths = paths;

/** What the API answered when it said no: its `{error, details, request_id}` and the status. */
export class ArborApiError extends Error {
  override name = 'ArborApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
    readonly requestId?: string,
  ) {
    super(message);
  }

  static async fromResponse(response: Response, body?: unknown): Promise<ArborApiError> {
    const parsed = body ?? (await response.text().then(parseJson, () => undefined));
    if (isRecord(parsed) && typeof parsed.error === 'string') {
      return new ArborApiError(response.status, parsed.error, parsed.details, typeof parsed.request_id === 'string' ? parsed.request_id : undefined);
    }
    return new ArborApiError(response.status, `${response.status} ${response.statusText}`.trim());
  }
}

/** The server could not be reached at all (nothing listens, DNS, TLS). */
export class ArborUnreachableError extends Error {
  override name = 'ArborUnreachableError';
}

export interface ArborClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /** ARBOR_API_TOKEN, sent as a bearer token. */
  token?: string;
  fetch?: typeof globalThis.fetch;
}

export interface ArborClient {
  /** Every operation of the API, typed: `api.GET('/api/goals/{id}', { params: { path: { id } } })`. */
  api: Client<paths>;
  baseUrl: string;
  /** Opens a Server-Sent Events stream of the API (`/api/events`, `/api/sessions/{id}/logs`). */
  stream(path: string, options?: { query?: Record<string, string | undefined>; lastEventId?: string; signal?: AbortSignal }): Promise<Response>;
}

export function createArborClient(options: ArborClientOptions): ArborClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const reaching = async (request: Request | string, init?: RequestInit) => {
    try {
      return await fetchImpl(request, init);
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ArborUnreachableError(`cannot reach Arbor at ${baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
  };
  const api = createClient<paths>({ baseUrl, headers, fetch: (request) => reaching(request) });
  return {
    api,
    baseUrl,
    async stream(path, { query = {}, lastEventId, signal } = {}) {
      const url = new URL(baseUrl + path);
      for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value);
      const response = await reaching(url.toString(), {
        headers: { ...headers, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
        signal,
      });
      if (!response.ok) throw await ArborApiError.fromResponse(response);
      return response;
    },
  };
}

/** The data of a successful answer, or the API's error thrown as an ArborApiError. */
export async function ok<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw await ArborApiError.fromResponse(response, error);
  return data as T;
}

/**
 * Every event of a goal (or of all goals) from now on, live. `'connected'`
 * marks the moment the stream follows: anything read before it may be older
 * than what comes after. A dropped stream is reopened where it left off
 * (`Last-Event-ID`), announced by another `'connected'`; after `maxRetries`
 * failed reopenings in a row the error is thrown.
 */
export async function* followEvents(
  client: ArborClient,
  options: { goalId?: string; signal?: AbortSignal; maxRetries?: number; retryMs?: number },
): AsyncGenerator<ArborEvent | 'connected'> {
  let lastEventId: string | undefined;
  let failures = 0;
  const maxRetries = options.maxRetries ?? 5;
  while (!options.signal?.aborted) {
    try {
      const response = await client.stream('/api/events', { query: { goal_id: options.goalId }, lastEventId, signal: options.signal });
      failures = 0;
      for await (const message of readServerSentEvents(response.body!)) {
        if (message.kind === 'comment') {
          if (message.text.trim() === 'connected') yield 'connected';
          continue;
        }
        if (message.id) lastEventId = message.id;
        yield JSON.parse(message.data) as ArborEvent;
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      // A refusal (a 404 goal, a wrong token) does not heal by trying again.
      if (err instanceof ArborApiError && err.status < 500) throw err;
      failures += 1;
      if (failures > maxRetries) throw err;
    }
    if (options.signal?.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 1_000));
  }
}

/** A session's log lines after `after`, as they come, until the session ends. */
export async function* followSessionLog(
  client: ArborClient,
  sessionId: string,
  options: { after?: number; signal?: AbortSignal } = {},
): AsyncGenerator<LogLine> {
  const query = { after: options.after === undefined ? undefined : String(options.after) };
  const response = await client.stream(`/api/sessions/${encodeURIComponent(sessionId)}/logs`, { query, signal: options.signal });
  for await (const message of readServerSentEvents(response.body!)) {
    if (message.kind === 'comment') continue;
    if (message.event === 'end') return;
    if (message.event === 'line') yield JSON.parse(message.data) as LogLine;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
