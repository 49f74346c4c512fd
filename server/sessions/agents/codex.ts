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
import type { AgentAdapter, AgentLaunch, AgentOutputParser, AgentReport, AgentRunInput, AgentSettings, LogStream } from './types.js';
import {
  MAX_DETAIL_CHARS,
  MAX_SUMMARY_CHARS,
  arr,
  compactJson,
  num,
  obj,
  str,
  truncate,
  renderJsonLine,
  type JsonObject,
} from './util.js';

export class CodexAdapter implements AgentAdapter {
  readonly name = 'codex' as const;
  readonly resumable = true;

  constructor(private readonly settings: AgentSettings['codex']) {}

  launch(input: AgentRunInput): AgentLaunch {
    const args = ['exec', '--json'];
    if (this.settings.sandbox.trim() !== '') args.push('--sandbox', this.settings.sandbox.trim());
    args.push(...this.settings.extraArgs);
    if (input.conversationId !== null) args.push('resume', input.conversationId);
    args.push('-');
    return { file: this.settings.bin, args, stdin: input.prompt };
  }

  parser(): AgentOutputParser {
    return new CodexJsonParser();
  }
}

export class CodexJsonParser implements AgentOutputParser {
  private threadId: string | null = null;
  private lastAgentMessage: string | null = null;
  private inputTokens: number | null = null;
  private outputTokens: number | null = null;
  private success: boolean | null = null;
  private error: string | null = null;
  private finished = false;

  line(stream: 'stdout' | 'stderr', raw: string): { text: string; stream: LogStream } {
    return renderJsonLine(stream, raw, (event) => this.handle(event));
  }

  report(): AgentReport {
    return {
      conversationId: this.threadId,
      summary: this.lastAgentMessage === null ? null : truncate(this.lastAgentMessage, MAX_SUMMARY_CHARS),
      costUsd: null,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      success: this.success,
      error: this.error,
      finished: this.finished,
    };
  }

  private handle(event: JsonObject): string | null {
    switch (event.type) {
      case 'thread.started': {
        const id = str(event.thread_id);
        if (id) this.threadId = id;
        return `thread started ${id ?? '?'}`;
      }
      case 'turn.started':
        return 'turn started';
      case 'turn.completed': {
        this.finished = true;
        this.success = true;
        this.error = null;
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
