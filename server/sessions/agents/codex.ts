/**
 * Codex CLI, non-interactive:
 *
 *   codex exec --json [--sandbox M] [extra args...] -                       < prompt
 *   codex exec --json [--sandbox M] [extra args...] resume <thread_id> -    < prompt
 *
 * Options belong to `exec` and go before the `resume` subcommand (only a few, such as
 * --json and --model, are also accepted after it); `-` makes codex read the prompt from stdin.
 *
 * With --json stdout is JSONL: `thread.started {thread_id}` (also on resume), `turn.started`,
 * `item.started` / `item.updated` / `item.completed {item:{id,type,...}}` where item.type is
 * agent_message {text}, reasoning {text}, command_execution {command, aggregated_output,
 * exit_code, status}, file_change {changes:[{path,kind}], status}, mcp_tool_call, web_search,
 * todo_list, error {message} (a non-fatal warning); then `turn.completed {usage:{input_tokens,
 * cached_input_tokens, output_tokens}}` or `turn.failed {error:{message}}`. A top-level
 * `error {message}` reports a stream error (it may be followed by a retry). Codex reports no cost.
 */
import { JsonStreamParser } from './json-stream-parser.js';
import type { AgentAdapter, AgentLaunch, AgentOutputParser, AgentRunInput, AgentSettings, McpLaunch } from './types.js';
import {
  MAX_DETAIL_CHARS,
  MAX_SUMMARY_CHARS,
  arr,
  compactJson,
  num,
  obj,
  str,
  truncate,
  type JsonObject,
} from './util.js';

export class CodexAdapter implements AgentAdapter {
  readonly name = 'codex' as const;
  readonly resumable = true;
  readonly usesMcp = true;

  constructor(private readonly settings: AgentSettings['codex']) {}

  launch(input: AgentRunInput): AgentLaunch {
    const args = ['exec', '--json'];
    const sandbox = this.settings.sandbox.trim();
    if (sandbox !== '') args.push('--sandbox', sandbox);
    if (input.mcp) args.push(...codexMcpOverrides(input.mcp));
    // workspace-write lets the agent write its working directory only; a worktree's git dirs lie outside it.
    if (sandbox === 'workspace-write') for (const dir of input.writableDirs ?? []) args.push('--add-dir', dir);
    args.push(...this.settings.extraArgs);
    if (input.conversationId !== null) args.push('resume', input.conversationId);
    args.push('-');
    return { file: this.settings.bin, args, stdin: input.prompt };
  }

  parser(): AgentOutputParser {
    return new CodexJsonParser();
  }
}

/**
 * Arbor as the MCP server `arbor` through `-c` overrides (values are TOML):
 * strings are JSON-quoted (JSON's string escapes are TOML's); the bearer token read from the named variable, the first request waiting
 * for the server (required), and its tools approved without asking.
 */
export function codexMcpOverrides(mcp: McpLaunch): string[] {
  return [
    `mcp_servers.arbor.url=${JSON.stringify(mcp.url)}`,
    `mcp_servers.arbor.bearer_token_env_var=${JSON.stringify(mcp.tokenEnv)}`,
    'mcp_servers.arbor.required=true',
    'mcp_servers.arbor.default_tools_approval_mode="approve"',
  ].flatMap((value) => ['-c', value]);
}

/**
 * Codex's JSONL. After `exec resume` its turn.completed usage is the
 * thread's running total; it reports no cost.
 */
export class CodexJsonParser extends JsonStreamParser {
  private lastAgentMessage: string | null = null;

  constructor() {
    super({ costUsd: false, tokens: true });
  }

  protected handle(event: JsonObject): string | null {
    switch (event.type) {
      case 'thread.started': {
        const id = str(event.thread_id);
        if (id) this.conversationId = id;
        return `thread started ${id ?? '?'}`;
      }
      case 'turn.started':
        return 'turn started';
      case 'turn.completed': {
        this.finished = true;
        this.success = true;
        this.error = null;
        // The turn's last message is the agent's final word; earlier ones were progress.
        this.summary = this.lastAgentMessage;
        const usage = obj(event.usage);
        // The usage is the thread's running total as codex reports it; the last one wins.
        const input = num(usage?.input_tokens);
        const cached = num(usage?.cached_input_tokens);
        const output = num(usage?.output_tokens);
        if (input !== null) this.inputTokens = input;
        if (output !== null) this.outputTokens = output;
        if (usage === null) return 'turn completed';
        return `turn completed (in ${input ?? '?'}${cached !== null ? ` [${cached} cached]` : ''} / out ${output ?? '?'} tokens)`;
      }
      case 'turn.failed': {
        this.finished = true;
        this.success = false;
        const message = str(obj(event.error)?.message) ?? this.error ?? 'turn failed';
        this.error = truncate(message, MAX_SUMMARY_CHARS);
        return `turn failed: ${message}`;
      }
      case 'error': {
        const message = str(event.message) ?? str(obj(event.error)?.message) ?? 'error';
        if (this.success !== true) {
          this.success = false;
          this.error = truncate(message, MAX_SUMMARY_CHARS);
        }
        return `error: ${message}`;
      }
      case 'item.started':
      case 'item.updated':
      case 'item.completed':
        return this.renderItem(event.type, obj(event.item));
      default:
        return null;
    }
  }

  private renderItem(kind: string, item: JsonObject | null): string {
    if (!item) return kind;
    const completed = kind === 'item.completed';
    const status = str(item.status);
    switch (item.type) {
      case 'agent_message': {
        const text = str(item.text) ?? '';
        if (completed && text.trim() !== '') this.lastAgentMessage = text;
        return `assistant: ${text}`;
      }
      case 'reasoning':
        return `reasoning: ${truncate(str(item.text) ?? '', MAX_DETAIL_CHARS)}`;
      case 'command_execution': {
        const command = str(item.command) ?? '?';
        if (!completed) return `command: ${command}`;
        const exit = num(item.exit_code);
        const output = str(item.aggregated_output) ?? '';
        const head = `command: ${command} (${status ?? 'done'}${exit !== null ? `, exit ${exit}` : ''})`;
        return output.trim() === '' ? head : `${head}\n${truncate(output.trimEnd(), MAX_DETAIL_CHARS)}`;
      }
      case 'file_change': {
        const changes = arr(item.changes)
          .map((c) => {
            const change = obj(c);
            return change ? `${str(change.kind) ?? 'change'} ${str(change.path) ?? '?'}` : null;
          })
          .filter((c): c is string => c !== null);
        return `file change: ${changes.join(', ') || '(none)'}${status ? ` (${status})` : ''}`;
      }
      case 'mcp_tool_call': {
        const name = `${str(item.server) ?? '?'}.${str(item.tool) ?? '?'}`;
        const error = str(obj(item.error)?.message);
        return `tool: ${name} ${compactJson(item.arguments ?? {})}${status ? ` (${status})` : ''}${error ? ` — ${error}` : ''}`;
      }
      case 'web_search':
        return `web search: ${str(item.query) ?? '?'}`;
      case 'todo_list': {
        const items = arr(item.items)
          .map((t) => {
            const todo = obj(t);
            return todo ? `[${todo.completed === true ? 'x' : ' '}] ${str(todo.text) ?? ''}` : null;
          })
          .filter((t): t is string => t !== null);
        return `todo: ${items.join('; ')}`;
      }
      case 'plan':
        return `plan: ${truncate(str(item.text) ?? '', MAX_DETAIL_CHARS)}`;
      case 'error':
        return `warning: ${str(item.message) ?? '?'}`;
      default:
        return `${kind} ${typeof item.type === 'string' ? item.type : '?'} ${compactJson(item)}`;
    }
  }
}
