import type { RunnerFactory } from '../arbor.js';
import type { AgentName } from '../domain/states.js';
import { AgentSessionRunner } from './agent-session-runner.js';
import { createAgentAdapter, parseArgv, type AgentAdapter, type AgentSettings } from './agents/index.js';
import { warnIfAgentCliMissing } from './agents/cli-lookup.js';
import { createGoalPreflight } from './goal-preflight.js';
import { WorktreeManager } from './worktrees.js';

/** The runner that runs real agent CLIs, configured from the environment. */
export const createSessionRunner: RunnerFactory = ({ db, config, logger, apiUrl }) => {
  const s = config.sessions;
  const settings: AgentSettings = {
    claude: { bin: s.claude.bin, permissionMode: s.claude.permissionMode, extraArgs: parseArgv(s.claude.args) },
    codex: { bin: s.codex.bin, sandbox: s.codex.sandbox, extraArgs: parseArgv(s.codex.args) },
    command: { argv: parseArgv(s.command) },
  };
  const adapters = new Map<AgentName, AgentAdapter>();
  const agentFor = (name: AgentName) => {
    if (!adapters.has(name)) adapters.set(name, createAgentAdapter(name, settings));
    return adapters.get(name)!;
  };
  // An api-only instance runs no agents: it checks only the repositories it can see, and has no CLI to warn about.
  const runsAgents = config.role !== 'api';
  const preflight = createGoalPreflight({ agents: settings, env: s.baseEnv, runsAgents });
  if (runsAgents) void warnIfAgentCliMissing(config.goals.defaultAgent, settings, s.baseEnv.PATH, logger);
  return new AgentSessionRunner(
    { db, logger, worktrees: new WorktreeManager({ root: s.worktreeRoot, env: s.baseEnv }), agentFor, preflight },
    {
      instanceId: config.instanceId,
      apiUrl,
      baseEnv: s.baseEnv,
      taskTimeoutMs: s.taskTimeoutMs,
      stallTimeoutMs: s.stallTimeoutMs,
      killGraceMs: s.killGraceMs,
      resultGraceMs: s.resultGraceMs,
      logMaxLines: s.logMaxLines,
      keepFailedWorktrees: s.keepFailedWorktrees,
      ports: s.ports,
    },
  );
};
