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

/** Where an agent reaches Arbor's MCP server: its URL, and the variable that holds its bearer token (never the token: argv is readable by others). */
export interface McpLaunch {
  url: string;
  tokenEnv: string;
}

export interface AgentRunInput {
  prompt: string;
  /** Arbor's MCP server for this run; null for agents that talk back through REST (command). */
  mcp?: McpLaunch | null;
  /** Directories outside the working directory the agent must be able to write: the worktree's git dirs, so it can commit. */
  writableDirs?: string[];
  /** Resume this conversation (the pinned session's later tasks); null for a new one. */
  conversationId: string | null;
  /** The id to give a new conversation where the agent lets us choose it (claude --session-id); a uuid. */
  newConversationId: string;
}

/** A tool call the agent's own permission rules refused (claude `result.permission_denials`). */
export interface PermissionDenial {
  tool: string;
  input: unknown;
}

/** What the output parser saw of one run. */
export interface ParsedRun {
  /** claude session_id / codex thread_id. */
  conversationId: string | null;
  /** claude result.result; codex last agent_message of a completed turn. Never a progress line. Bounded (MAX_SUMMARY_CHARS). */
  summary: string | null;
  /** As the agent printed it: for the conversation so far where `cumulative.costUsd`, else for this run. */
  costUsd: number | null;
  /** Input tokens including cached ones (claude: input + cache creation + cache read; codex input_tokens). */
  inputTokens: number | null;
  outputTokens: number | null;
  /**
   * Which figures are the conversation's running totals rather than this run's: claude's
   * total_cost_usd after --resume, codex's turn.completed usage after exec resume.
   */
  cumulative: { costUsd: boolean; tokens: boolean };
  permissionDenials: PermissionDenial[];
  /** The last lines the agent wrote on stderr, bounded: the reason of a failure it did not explain. */
  stderrTail: string | null;
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
  report(): ParsedRun;
}

export interface AgentAdapter {
  readonly name: AgentName;
  /** Whether this agent can continue a conversation (claude, codex) — the pinned lane resumes when true. */
  readonly resumable: boolean;
  /** Whether it talks back through Arbor's MCP server (claude, codex) rather than REST calls from its environment (command). */
  readonly usesMcp: boolean;
  launch(input: AgentRunInput): AgentLaunch;
  parser(): AgentOutputParser;
}

export interface AgentSettings {
  /** allowedTools: what the agent may use without asking (besides Arbor's MCP tools), e.g. ['Bash']. */
  claude: { bin: string; permissionMode: string; allowedTools?: string[]; extraArgs: string[] };
  codex: { bin: string; sandbox: string; extraArgs: string[] };
  /** argv of the command agent, e.g. ['node', 'agent.mjs']; empty means not configured. */
  command: { argv: string[] };
}
