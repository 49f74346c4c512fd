/**
 * Claude Code, headless:
 *
 *   claude -p --output-format stream-json --verbose [--permission-mode M]
 *          (--session-id <uuid> | --resume <id>) [extra args...]   < prompt
 *
 * `--verbose` is required with stream-json under `-p`. With no prompt argument `-p` reads
 * the prompt from stdin, so prompts of any size work. `--session-id` and `--resume` cannot
 * be combined, a `--session-id` that was used before is refused, and `--resume` finds a
 * conversation only from the working directory it was started in.
 *
 * The output is one JSON object per line: `system`/`init` (session_id, cwd, model, tools),
 * `assistant` messages (content blocks: text, tool_use, thinking), `user` messages carrying
 * tool results, other system events, and finally one `result`:
 *   {"type":"result","subtype":"success"|"error_during_execution"|"error_max_turns"|...,
 *    "is_error":false,"result":"<final text>","session_id":"...","total_cost_usd":0.12,
 *    "usage":{"input_tokens":..,"cache_creation_input_tokens":..,"cache_read_input_tokens":..,
 *    "output_tokens":..},"num_turns":..,"duration_ms":..,"errors":[...]}
 * The process can linger after the result, so the result counts as completion.
 */
import { JsonStreamParser } from './json-stream-parser.js';
import type { AgentAdapter, AgentLaunch, AgentOutputParser, AgentRunInput, AgentSettings, McpLaunch, PermissionDenial } from './types.js';
import {
  MAX_DETAIL_CHARS,
  MAX_SUMMARY_CHARS,
  arr,
  compactJson,
  formatUsd,
  num,
  obj,
  str,
  sumPresent,
  truncate,
  type JsonObject,
} from './util.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Arbor's MCP tools as Claude Code names them (mcp__<server>__<tool>). */
export const CLAUDE_ARBOR_TOOLS = [
  'arbor_complete',
  'arbor_block',
  'arbor_add_subtasks',
  'arbor_report_pull_request',
  'arbor_task_context',
].map((tool) => `mcp__arbor__${tool}`);

export class ClaudeAdapter implements AgentAdapter {
  readonly name = 'claude' as const;
  readonly resumable = true;
  readonly usesMcp = true;

  constructor(private readonly settings: AgentSettings['claude']) {}

  launch(input: AgentRunInput): AgentLaunch {
    const args = ['-p', '--output-format', 'stream-json', '--verbose'];
    if (this.settings.permissionMode.trim() !== '') {
      args.push('--permission-mode', this.settings.permissionMode.trim());
    }
    const mcp = input.mcp ?? null;
    if (mcp !== null) args.push('--mcp-config', claudeMcpConfig(mcp), '--strict-mcp-config');
    const allowed = [...(mcp !== null ? CLAUDE_ARBOR_TOOLS : []), ...(this.settings.allowedTools ?? [])];
    // One comma-separated value: the flag takes several words, and a later argument must not be read as a tool.
    if (allowed.length > 0) args.push('--allowedTools', allowed.join(','));
    if (input.conversationId !== null) {
      args.push('--resume', input.conversationId);
    } else {
      if (!UUID.test(input.newConversationId)) {
        throw new Error(`claude needs a UUID for a new conversation, got "${input.newConversationId}"`);
      }
      args.push('--session-id', input.newConversationId);
    }
    args.push(...this.settings.extraArgs);
    return { file: this.settings.bin, args, stdin: input.prompt };
  }

  parser(): AgentOutputParser {
    return new ClaudeStreamParser();
  }
}

/**
 * Arbor as an http MCP server named `arbor`. The header names the token's
 * variable, which Claude Code expands from its environment when it reads the
 * config: the token itself never appears in argv.
 */
export function claudeMcpConfig(mcp: McpLaunch): string {
  return JSON.stringify({
    mcpServers: { arbor: { type: 'http', url: mcp.url, headers: { Authorization: `Bearer \${${mcp.tokenEnv}}` } } },
  });
}

/**
 * Claude Code's stream-json. After --resume its `total_cost_usd` is the whole
 * conversation's, while `usage` is this run's.
 */
export class ClaudeStreamParser extends JsonStreamParser {
  constructor() {
    super({ costUsd: true, tokens: false });
  }

  protected handle(event: JsonObject): string | null {
    const sessionId = str(event.session_id);
    if (sessionId) this.conversationId = sessionId;
    switch (event.type) {
      case 'system':
        return renderSystem(event);
      case 'assistant':
        return this.renderAssistant(event);
      case 'user':
        return renderUser(event);
      case 'result':
        return this.handleResult(event);
      default:
        return null;
    }
  }

  private renderAssistant(event: JsonObject): string {
    const message = obj(event.message);
    const parts: string[] = [];
    for (const block of arr(message?.content)) {
      const b = obj(block);
      if (!b) continue;
      if (b.type === 'text') {
        const t = str(b.text) ?? '';
        parts.push(`assistant: ${t}`);
      } else if (b.type === 'tool_use') {
        parts.push(`tool: ${str(b.name) ?? '?'} ${compactJson(b.input ?? {}, MAX_DETAIL_CHARS)}`);
      } else if (b.type === 'thinking') {
        parts.push(`thinking: ${truncate(str(b.thinking) ?? '', MAX_DETAIL_CHARS)}`);
      } else if (typeof b.type === 'string') {
        parts.push(`assistant ${b.type}`);
      }
    }
    const errorKind = str(event.error);
    if (errorKind) parts.unshift(`assistant error: ${errorKind}`);
    return parts.length > 0 ? parts.join('\n') : 'assistant: (no content)';
  }

  private handleResult(event: JsonObject): string {
    const subtype = str(event.subtype) ?? 'unknown';
    const isError = event.is_error === true;
    this.finished = true;
    this.success = subtype === 'success' && !isError;

    const result = str(event.result);
    // Only a successful result is the agent's final word; an error's text is its error.
    if (result !== null && this.success) this.summary = result;
    const cost = num(event.total_cost_usd) ?? num(event.cost_usd);
    if (cost !== null) this.costUsd = cost;
    const usage = obj(event.usage);
    if (usage) {
      this.inputTokens = sumPresent(
        num(usage.input_tokens),
        num(usage.cache_creation_input_tokens),
        num(usage.cache_read_input_tokens),
      );
      this.outputTokens = num(usage.output_tokens);
    }

    if (this.success) {
      this.error = null;
    } else {
      const errors = arr(event.errors).filter((e): e is string => typeof e === 'string' && e !== '');
      const detail = errors.length > 0 ? errors.join('; ') : isError && result ? result : null;
      this.error = truncate(detail ?? `claude ended with ${subtype}${isError ? ' (is_error)' : ''}`, MAX_SUMMARY_CHARS);
    }

    this.permissionDenials = arr(event.permission_denials)
      .map((d): PermissionDenial | null => {
        const denial = obj(d);
        const tool = str(denial?.tool_name);
        return tool === null ? null : { tool, input: denial?.tool_input ?? null };
      })
      .filter((d): d is PermissionDenial => d !== null);

    const facts: string[] = [];
    if (this.inputTokens !== null || this.outputTokens !== null) {
      facts.push(`in ${this.inputTokens ?? '?'} / out ${this.outputTokens ?? '?'} tokens`);
    }
    const turns = num(event.num_turns);
    if (turns !== null) facts.push(`${turns} turn${turns === 1 ? '' : 's'}`);
    const ms = num(event.duration_ms);
    if (ms !== null) facts.push(`${(ms / 1000).toFixed(1)}s`);
    let line = `result: ${subtype}${isError && subtype === 'success' ? ' (is_error)' : ''}`;
    if (cost !== null) line += ` ${formatUsd(cost)}`;
    if (facts.length > 0) line += ` (${facts.join(', ')})`;
    if (!this.success && this.error) line += ` — ${truncate(this.error, MAX_DETAIL_CHARS)}`;
    if (this.permissionDenials.length > 0) line += `\npermission denied: ${this.permissionDenials.map((d) => `${d.tool} ${compactJson(d.input, MAX_DETAIL_CHARS)}`).join('; ')}`;
    return line;
  }
}

function renderSystem(event: JsonObject): string {
  const subtype = str(event.subtype) ?? 'event';
  if (subtype === 'init') {
    const facts = [`session ${str(event.session_id) ?? '?'}`];
    const model = str(event.model);
    if (model) facts.push(`model ${model}`);
    const mode = str(event.permissionMode);
    if (mode) facts.push(`permissions ${mode}`);
    const cwd = str(event.cwd);
    if (cwd) facts.push(`cwd ${cwd}`);
    return `system: init ${facts.join(', ')}`;
  }
  const { type: _t, subtype: _s, session_id: _id, uuid: _u, ...rest } = event;
  return Object.keys(rest).length > 0 ? `system: ${subtype} ${compactJson(rest)}` : `system: ${subtype}`;
}

function renderUser(event: JsonObject): string {
  const message = obj(event.message);
  const content = message?.content;
  if (typeof content === 'string') return `user: ${truncate(content, MAX_DETAIL_CHARS)}`;
  const parts: string[] = [];
  for (const block of arr(content)) {
    const b = obj(block);
    if (!b) continue;
    if (b.type === 'tool_result') {
      const label = b.is_error === true ? 'tool error' : 'tool result';
      parts.push(`${label}: ${truncate(toolResultText(b.content), MAX_DETAIL_CHARS)}`);
    } else if (b.type === 'text') {
      parts.push(`user: ${truncate(str(b.text) ?? '', MAX_DETAIL_CHARS)}`);
    }
  }
  return parts.length > 0 ? parts.join('\n') : 'user: (no content)';
}

function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  const texts = arr(content)
    .map((c) => str(obj(c)?.text))
    .filter((t): t is string => t !== null);
  return texts.length > 0 ? texts.join('\n') : compactJson(content ?? '');
}
