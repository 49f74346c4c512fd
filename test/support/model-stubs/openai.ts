import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { SERVED_USAGE, type Script, type ServedTurn, type Turn, type TurnContext } from './script.js';
import { openEventStream, sendJson, startStubServer, type RecordedRequest, type StubServer } from './stub-server.js';

/**
 * A local OpenAI Responses API (`POST /v1/responses`, streaming SSE) for
 * Codex, configured as a custom model provider in CODEX_HOME/config.toml
 * (see codexHome in ../real-clis.ts). Other paths are recorded and answered
 * with an empty object (`/v1/models` with an empty list).
 */

export interface OpenAiStub extends StubServer {
  served: ServedTurn[];
  /** What each main-loop request asked for, in order. */
  turns: TurnContext[];
  responseRequests(): RecordedRequest[];
}

export async function startOpenAiStub(script: Script): Promise<OpenAiStub> {
  const served: ServedTurn[] = [];
  const turns: TurnContext[] = [];
  const server = await startStubServer((request, res) => {
    if (request.method === 'POST' && request.path === '/v1/responses') {
      const body = (request.body ?? {}) as ResponsesBody;
      const context = turnContext(body);
      if (context.main) turns.push(context);
      const turn: Turn = context.main ? script(context) : { kind: 'text', text: 'ok' };
      return answer(res, body, turn, context.main, served);
    }
    if (request.path === '/v1/models') return sendJson(res, 200, { object: 'list', data: [], models: [] });
    return sendJson(res, 200, {});
  });
  return {
    ...server,
    served,
    turns,
    responseRequests: () => server.requests.filter((r) => r.path === '/v1/responses'),
  };
}

interface InputItem {
  type?: string;
  role?: string;
  content?: unknown;
  output?: unknown;
}
interface ResponsesBody {
  model?: string;
  tools?: { type?: string; name?: string }[];
  input?: InputItem[] | string;
}

const FUNCTION_OUTPUTS = new Set(['function_call_output', 'custom_tool_call_output', 'local_shell_call_output', 'tool_search_output']);
const MODEL_ITEMS = new Set(['message', 'function_call', 'custom_tool_call', 'local_shell_call', 'reasoning', 'tool_search_call']);

export function turnContext(body: ResponsesBody): TurnContext {
  const input: InputItem[] = typeof body.input === 'string' ? [{ type: 'message', role: 'user', content: body.input }] : body.input ?? [];
  // Codex puts its own instructions and environment context in user messages too; the task
  // prompt is the last user message before the current run's model turns.
  let promptIndex = -1;
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i]!;
    if ((item.type ?? 'message') === 'message' && item.role === 'user') {
      promptIndex = i;
      break;
    }
  }
  const prompt = promptIndex < 0 ? '' : textOf(input[promptIndex]!.content);
  const after = input.slice(promptIndex + 1);
  // One model turn is one response: count responses by their function calls and final messages.
  const step = after.filter((item) => item.role === 'assistant' || (item.type !== undefined && item.type !== 'message' && MODEL_ITEMS.has(item.type) && item.type !== 'reasoning'))
    .length;
  const toolResults = after.filter((item) => FUNCTION_OUTPUTS.has(item.type ?? '')).map((item) => textOf(item.output));
  const tools = (body.tools ?? []).map((t) => t.name ?? t.type ?? '').filter(Boolean);
  return { prompt, step, toolResults, tools, main: tools.length > 0 };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => (typeof c?.text === 'string' ? c.text : '')).join('\n');
  if (content && typeof content === 'object' && 'content' in content) return textOf((content as { content: unknown }).content);
  return '';
}

function answer(res: ServerResponse, body: ResponsesBody, turn: Turn, main: boolean, served: ServedTurn[]): void {
  const model = body.model ?? 'gpt-5';
  if (turn.kind === 'error') {
    return sendJson(res, turn.status, { error: { type: turn.status >= 500 ? 'server_error' : 'invalid_request_error', message: `stub error (${turn.status})` } });
  }
  const responseId = `resp_${randomUUID().replaceAll('-', '')}`;
  const send = openEventStream(res);
  let sequence = 0;
  const event = (type: string, data: Record<string, unknown>) => send(type, { type, sequence_number: sequence++, ...data });
  const response = { id: responseId, object: 'response', created_at: Math.floor(Date.now() / 1000), model, status: 'in_progress', output: [] as unknown[] };
  event('response.created', { response });
  event('response.in_progress', { response });
  if (turn.kind === 'hang') return; // left open until the client gives up or the stub closes

  const items: Record<string, unknown>[] = [];
  const text = turn.kind === 'text' ? turn.text : turn.text;
  if (text) {
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    const output_index = items.length;
    event('response.output_item.added', { output_index, item: { type: 'message', id, role: 'assistant', status: 'in_progress', content: [] } });
    event('response.content_part.added', { item_id: id, output_index, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    event('response.output_text.delta', { item_id: id, output_index, content_index: 0, delta: text });
    event('response.output_text.done', { item_id: id, output_index, content_index: 0, text });
    const item = { type: 'message', id, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] };
    event('response.output_item.done', { output_index, item });
    items.push(item);
  }
  if (turn.kind === 'tool') {
    const id = `fc_${randomUUID().replaceAll('-', '')}`;
    const call_id = `call_${randomUUID().replaceAll('-', '')}`;
    const output_index = items.length;
    const args = JSON.stringify(turn.input);
    const [namespace, name] = splitNamespace(turn.name);
    const base = { type: 'function_call', id, call_id, name, ...(namespace ? { namespace } : {}) };
    event('response.output_item.added', { output_index, item: { ...base, arguments: '', status: 'in_progress' } });
    event('response.function_call_arguments.delta', { item_id: id, output_index, delta: args });
    event('response.function_call_arguments.done', { item_id: id, output_index, arguments: args });
    const item = { ...base, arguments: args, status: 'completed' };
    event('response.output_item.done', { output_index, item });
    items.push(item);
  }
  const usage = {
    input_tokens: SERVED_USAGE.inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: SERVED_USAGE.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: SERVED_USAGE.inputTokens + SERVED_USAGE.outputTokens,
  };
  event('response.completed', { response: { ...response, status: 'completed', output: items, usage } });
  res.end();
  served.push({ model, inputTokens: usage.input_tokens, outputTokens: usage.output_tokens, main });
}

/** `mcp__arbor__arbor_block` is offered to Codex as tool `arbor_block` in namespace `mcp__arbor`. */
function splitNamespace(name: string): [string | null, string] {
  const match = /^(mcp__[^_]+(?:_[^_]+)*?)__(.+)$/.exec(name);
  return match ? [match[1]!, match[2]!] : [null, name];
}
