import path from 'node:path';
import { servedCostUsd, startAnthropicStub } from '../support/model-stubs/anthropic.js';
import { startOpenAiStub } from '../support/model-stubs/openai.js';
import type { Script, ServedTurn, Turn, TurnContext } from '../support/model-stubs/script.js';
import type { RecordedRequest } from '../support/model-stubs/stub-server.js';
import { claudeEnvironment, codexEnvironment, type RealCliName } from '../support/real-clis.js';

/**
 * What differs between the two CLIs in the scenarios: how a turn runs a shell
 * command or an Arbor MCP tool, which stub they talk to, and how they are
 * configured. The scenarios themselves are shared (scenarios.ts).
 */

export interface ModelStub {
  url: string;
  served: ServedTurn[];
  turns: TurnContext[];
  /** The model requests received (side requests included). */
  modelRequests(): RecordedRequest[];
  close(): Promise<void>;
}

export interface CliDialect {
  name: RealCliName;
  binVariable: 'ARBOR_CLAUDE_BIN' | 'ARBOR_CODEX_BIN';
  startStub(script: Script): Promise<ModelStub>;
  environment(stubUrl: string, tmp: string): Promise<Record<string, string>>;
  shell(command: string): Turn;
  /** The turns that call Arbor's MCP tool `tool` (e.g. arbor_block) with `input`. */
  mcp(tool: string, input: Record<string, unknown>): Turn[];
  /** How the CLI itself words a model API error (HTTP 500, 529 overloaded): the task's error must carry it. */
  apiError: { 500: RegExp; 529: RegExp };
  /** What a correct cost record for `served` is; null when the CLI reports no cost. */
  cost(served: ServedTurn[]): number | null;
}

export const claude: CliDialect = {
  name: 'claude',
  binVariable: 'ARBOR_CLAUDE_BIN',
  startStub: async (script) => {
    const stub = await startAnthropicStub(script);
    return { url: stub.url, served: stub.served, turns: stub.turns, modelRequests: stub.messageRequests, close: stub.close };
  },
  environment: async (stubUrl) => claudeEnvironment(stubUrl),
  shell: (command) => ({ kind: 'tool', name: 'Bash', input: { command, description: 'run a command' } }),
  // Claude Code defers MCP tools: the model loads one through ToolSearch before calling it.
  mcp: (tool, input) => [
    { kind: 'tool', name: 'ToolSearch', input: { query: `select:mcp__arbor__${tool}`, max_results: 1 } },
    { kind: 'tool', name: `mcp__arbor__${tool}`, input },
  ],
  apiError: { 500: /API Error: 500/, 529: /API Error: 529|overloaded/i },
  cost: servedCostUsd,
};

export const codex: CliDialect = {
  name: 'codex',
  binVariable: 'ARBOR_CODEX_BIN',
  startStub: async (script) => {
    const stub = await startOpenAiStub(script);
    return { url: stub.url, served: stub.served, turns: stub.turns, modelRequests: stub.responseRequests, close: stub.close };
  },
  environment: (stubUrl, tmp) => codexEnvironment(stubUrl, path.join(tmp, 'codex-home')),
  shell: (command) => ({ kind: 'tool', name: 'exec_command', input: { cmd: command } }),
  // Codex offers a server's MCP tools as the namespace mcp__<server>; the stub splits the name back.
  mcp: (tool, input) => [{ kind: 'tool', name: `mcp__arbor__${tool}`, input }],
  // Codex words a 500 as high demand.
  apiError: { 500: /high demand/i, 529: /529|overloaded/i },
  cost: () => null,
};
