/**
 * Agent adapters: how to launch each agent CLI headless and how to read what it prints.
 * `createAgentAdapter(name, settings)` is the entry point; the session runner spawns
 * `launch().file`/`args`, writes `launch().stdin` and closes it, feeds every output line
 * to `parser().line()` and asks `parser().report()` at the end.
 */
import type { AgentName } from '../../domain/states.js';
import type { AgentAdapter, AgentSettings } from './types.js';
import { ClaudeAdapter } from './claude.js';
import { CodexAdapter } from './codex.js';
import { CommandAdapter } from './command.js';

export type {
  AgentAdapter,
  AgentLaunch,
  AgentOutputParser,
  AgentRunInput,
  AgentSettings,
  LogStream,
  McpLaunch,
  ParsedRun,
  PermissionDenial,
} from './types.js';
export { parseArgv } from './argv.js';
export { MAX_LOG_LINE_CHARS, MAX_SUMMARY_CHARS, TRUNCATED_MARKER } from './util.js';
export { CLAUDE_ARBOR_TOOLS, ClaudeAdapter, ClaudeStreamParser, claudeMcpConfig } from './claude.js';
export { CodexAdapter, CodexJsonParser, codexMcpOverrides } from './codex.js';
export { CommandAdapter, CommandOutputParser } from './command.js';

export function createAgentAdapter(name: AgentName, settings: AgentSettings): AgentAdapter {
  switch (name) {
    case 'claude':
      return new ClaudeAdapter(settings.claude);
    case 'codex':
      return new CodexAdapter(settings.codex);
    case 'command':
      return new CommandAdapter(settings.command);
    default: {
      const unknown: never = name;
      throw new Error(`unknown agent: ${String(unknown)}`);
    }
  }
}
