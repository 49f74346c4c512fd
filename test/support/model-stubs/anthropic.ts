import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { SERVED_USAGE, type Script, type ServedTurn, type Turn, type TurnContext } from './script.js';
import { openEventStream, sendJson, startStubServer, type RecordedRequest, type StubServer } from './stub-server.js';

/**
 * A local Anthropic Messages API (`POST /v1/messages`, streaming SSE or
 * plain JSON) for Claude Code pointed at it with ANTHROPIC_BASE_URL. Other
 * paths are recorded and answered with an empty object, so a test can see
 * what else the CLI calls without it failing on them.
 */

/** List prices (USD per million tokens) Claude Code charges for the models the tests use. */
const PRICES_PER_MTOK: Record<string, { input: number; output: number }> = {
  'claude-sonnet-4-5': { input: 3, output: 15 },
};

/** What `served` costs at list price: what a correct cost record adds up to. */
export function servedCostUsd(served: ServedTurn[]): number {
  return served.reduce((sum, turn) => {
    const price = PRICES_PER_MTOK[turn.model];
    if (!price) throw new Error(`no price for ${turn.model}: add it to PRICES_PER_MTOK`);
    return sum + (turn.inputTokens * price.input + turn.outputTokens * price.output) / 1e6;
  }, 0);
}

export interface AnthropicStub extends StubServer {
  /** Every answer served in full, in order: what a correct cost record adds up to. */
  served: ServedTurn[];
  /** What each main-loop request asked for, in order. */
  turns: TurnContext[];
  /** The Messages requests received (side requests included). */
  messageRequests(): RecordedRequest[];
}

export async function startAnthropicStub(script: Script): Promise<AnthropicStub> {
  const served: ServedTurn[] = [];
  const turns: TurnContext[] = [];
  const server = await startStubServer((request, res) => {
    if (request.method === 'POST' && request.path === '/v1/messages/count_tokens') {
      return sendJson(res, 200, { input_tokens: SERVED_USAGE.inputTokens });
    }
    if (request.method === 'POST' && request.path === '/v1/messages') {
      const body = (request.body ?? {}) as MessagesBody;
      const context = turnContext(body);
      if (context.main) turns.push(context);
      // Side requests (titles, summaries) get a plain answer: only the main loop is scripted.
      const turn: Turn = context.main ? script(context) : { kind: 'text', text: 'ok' };
      return answer(res, body, turn, context.main, served);
    }
    return sendJson(res, 200, {});
  });
  return {
    ...server,
    served,
    turns,
    messageRequests: () => server.requests.filter((r) => r.path === '/v1/messages'),
  };
}

interface ContentBlock {
  type: string;
  text?: string;
  content?: unknown;
}
interface MessagesBody {
  model?: string;
  stream?: boolean;
  tools?: { name?: string }[];
  messages?: { role: string; content: string | ContentBlock[] }[];
}

export function turnContext(body: MessagesBody): TurnContext {
  const messages = body.messages ?? [];
  const blocks = (m: { content: string | ContentBlock[] }): ContentBlock[] =>
    typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
  let promptIndex = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === 'user' && !blocks(m).some((b) => b.type === 'tool_result')) {
      promptIndex = i;
      break;
    }
  }
  const prompt =
    promptIndex < 0
      ? ''
      : blocks(messages[promptIndex]!)
          .filter((b) => b.type === 'text')
          .map((b) => b.text ?? '')
          .join('\n');
  const step = messages.slice(promptIndex + 1).filter((m) => m.role === 'assistant').length;
  const last = messages.at(-1);
  const toolResults = last && last.role === 'user' ? blocks(last).filter((b) => b.type === 'tool_result').map((b) => textOf(b.content)) : [];
  const tools = (body.tools ?? []).map((t) => t.name ?? '').filter(Boolean);
  return { prompt, step, toolResults, tools, main: tools.length > 0 };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => (typeof c?.text === 'string' ? c.text : '')).join('\n');
  return '';
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

function answer(res: ServerResponse, body: MessagesBody, turn: Turn, main: boolean, served: ServedTurn[]): void {
  const model = body.model ?? 'claude-sonnet-4-5';
  if (turn.kind === 'error') {
    const type = ERROR_TYPES[turn.status] ?? 'api_error';
    return sendJson(res, turn.status, { type: 'error', error: { type, message: `stub ${type} (${turn.status})` } });
  }
  const id = `msg_${randomUUID().replaceAll('-', '')}`;
  const content: Record<string, unknown>[] = [];
  if (turn.kind === 'text') content.push({ type: 'text', text: turn.text });
  if (turn.kind === 'tool') {
    if (turn.text) content.push({ type: 'text', text: turn.text });
    content.push({ type: 'tool_use', id: `toolu_${randomUUID().replaceAll('-', '')}`, name: turn.name, input: turn.input });
  }
  const stopReason = turn.kind === 'tool' ? 'tool_use' : 'end_turn';
  const usage = { input_tokens: SERVED_USAGE.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: SERVED_USAGE.outputTokens };

  if (!body.stream) {
    if (turn.kind === 'hang') return; // never answered
    served.push({ model, inputTokens: usage.input_tokens, outputTokens: usage.output_tokens, main });
    return sendJson(res, 200, { id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage });
  }

  const send = openEventStream(res);
  send('message_start', {
    type: 'message_start',
    message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
  });
  if (turn.kind === 'hang') {
    send('ping', { type: 'ping' });
    return; // left open until the client gives up or the stub closes
  }
  content.forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
    } else {
      send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      const json = JSON.stringify(block.input);
      // Split like the real API does, so the client has to join the pieces.
      const half = Math.ceil(json.length / 2);
      send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(0, half) } });
      send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(half) } });
    }
    send('content_block_stop', { type: 'content_block_stop', index });
  });
  send('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  send('message_stop', { type: 'message_stop' });
  res.end();
  served.push({ model, inputTokens: usage.input_tokens, outputTokens: usage.output_tokens, main });
}
