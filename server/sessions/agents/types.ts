/**
 * The contract between the session runner and the agent CLIs it starts. An
 * adapter says how to launch one agent (argv and stdin) and how to read its
 * output (log lines as they come, then a report). Pure: no I/O here.
 */
import type { AgentName } from '../../domain/states.js';

/** What to spawn: the program, its arguments, and the text to write to its stdin (then close it). */
export interface AgentLaunch {
  file: string;
  args: string[];
  stdin: string;
}

export interface AgentRunInput {
  prompt: string;
  /** Resume this conversation (the pinned session's later tasks); null for a new one. */
  conversationId: string | null;
  /** The id to give a new conversation where the agent lets us choose it (claude --session-id); a uuid. */
  newConversationId: string;
}

export interface AgentReport {
  /** claude session_id / codex thread_id. */
  conversationId: string | null;
  /** claude result.result; codex last agent_message text. Bounded (MAX_SUMMARY_CHARS). */
  summary: string | null;
  costUsd: number | null;
  /** Input tokens including cached ones (claude: input + cache creation + cache read; codex input_tokens). */
  inputTokens: number | null;
  outputTokens: number | null;
  /**
   * The agent's own verdict where it gives one: claude result (subtype success && !is_error),
   * codex turn.completed -> true / turn.failed or error -> false; null when unknown (command).
   */
  success: boolean | null;
  /** claude error result text / codex turn.failed error.message. */
  error: string | null;
  /**
   * The agent said it is done (claude `result`, codex turn.completed / turn.failed seen); the
   * process may still linger and should be ended after a short grace.
   */
  finished: boolean;
}

export type LogStream = 'stdout' | 'stderr' | 'event';

export interface AgentOutputParser {
  /**
   * One line of output (without newline). Returns what to store in the session log: readable
   * text for recognised JSON events (e.g. "assistant: <text>", "tool: Bash {command}",
   * "result: success $0.12"), kind 'event' for structured ones, the raw line otherwise.
   * Never throws on malformed input. Texts are bounded (MAX_LOG_LINE_CHARS).
   */
  line(stream: 'stdout' | 'stderr', text: string): { text: string; stream: LogStream };
  report(): AgentReport;
}

export interface AgentAdapter {
  readonly name: AgentName;
  /** Whether this agent can continue a conversation (claude, codex) — the pinned lane resumes when true. */
  readonly resumable: boolean;
  launch(input: AgentRunInput): AgentLaunch;
  parser(): AgentOutputParser;
}

export interface AgentSettings {
  claude: { bin: string; permissionMode: string; extraArgs: string[] };
  codex: { bin: string; sandbox: string; extraArgs: string[] };
  /** argv of the command agent, e.g. ['node', 'agent.mjs']; empty means not configured. */
  command: { argv: string[] };
}
