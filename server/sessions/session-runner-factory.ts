import path from 'node:path';
import type { RunnerFactory } from '../arbor.js';
import type { Config } from '../config.js';
import type { AgentName } from '../domain/states.js';
import type { Logger } from '../logger.js';
import { AgentSessionRunner } from './agent-session-runner.js';
import { resolveAgentUser, type AgentUser } from './agent-user.js';
import { createAgentAdapter, parseArgv, type AgentAdapter, type AgentSettings } from './agents/index.js';
import { warnIfAgentCliMissing } from './agents/cli-lookup.js';
import { createGit } from './git-command.js';
import { createGoalPreflight } from './goal-preflight.js';
import { RepoMirrors } from './repo-mirror.js';
import { SpawnerProcess } from './spawner/command-spawner.js';
import { WorktreeManager } from './worktrees.js';

/** The runner that runs real agent CLIs, configured from the environment. */
export const createSessionRunner: RunnerFactory = ({ db, config, logger, apiUrl }) => {
  const s = config.sessions;
  const settings: AgentSettings = {
    claude: { bin: s.claude.bin, permissionMode: s.claude.permissionMode, allowedTools: s.claude.allowedTools, extraArgs: parseArgv(s.claude.args) },
    codex: { bin: s.codex.bin, sandbox: s.codex.sandbox, extraArgs: parseArgv(s.codex.args) },
    command: { argv: parseArgv(s.command) },
  };
  const adapters = new Map<AgentName, AgentAdapter>();
  const agentFor = (name: AgentName) => {
    if (!adapters.has(name)) adapters.set(name, createAgentAdapter(name, settings));
    return adapters.get(name)!;
  };
  const agentUser = agentUserOf(config, logger);
  // An api-only instance runs no agents: it checks only the repositories it can see, and has no CLI to warn about.
  const runsAgents = config.role !== 'api';
  // All of the sessions' git runs from one small process rather than forking this one (see SpawnerProcess).
  const spawner = new SpawnerProcess();
  const preflight = createGoalPreflight({ agents: settings, env: s.baseEnv, runsAgents, agentUser, spawner });
  if (runsAgents) void warnIfAgentCliMissing(config.goals.defaultAgent, settings, s.baseEnv.PATH, logger);
  return new AgentSessionRunner(
    {
      db,
      logger,
      worktrees: new WorktreeManager({ root: s.worktreeRoot, env: s.baseEnv, agentUser, spawner }),
      // Goals on a remote: this instance's clone of each, under its own data dir.
      mirrors: new RepoMirrors(createGit(s.baseEnv, { user: agentUser, spawner }), path.join(config.dataDir, 'mirrors')),
      agentFor,
      preflight,
      spawner,
    },
    {
      instanceId: config.instanceId,
      apiUrl,
      baseEnv: s.baseEnv,
      taskTimeoutMs: s.taskTimeoutMs,
      stallTimeoutMs: s.stallTimeoutMs,
      killGraceMs: s.killGraceMs,
      agentNice: s.agentNice,
      resultGraceMs: s.resultGraceMs,
      logMaxLines: s.logMaxLines,
      keepFailedWorktrees: s.keepFailedWorktrees,
      onPermissionDenial: s.onPermissionDenial,
      ports: s.ports,
      laneLeaseMs: config.orchestrator.leaseMs,
      agentUser,
    },
  );
};

/**
 * ARBOR_AGENT_USER resolved, and the operator told at start when agents can
 * read Arbor's secrets: as Arbor's own user they can read its environment and
 * files; as root, everything on the machine.
 */
function agentUserOf(config: Config, logger: Logger): AgentUser | null {
  const ownUid = process.getuid?.() ?? -1;
  const spec = config.sessions.agentUser;
  const user = spec === null ? null : resolveAgentUser(spec, { dataDir: config.dataDir, ownUid });
  if (user !== null) {
    logger.info({ agent_user: user.name, uid: user.uid, gid: user.gid, home: user.home }, 'agents run as another OS user');
    if (!config.auth.apiToken) {
      logger.warn('ARBOR_API_TOKEN is unset: the API on loopback is open to every local process, agents included; set it');
    }
  } else if (spec === null && ownUid === 0) {
    logger.warn(
      'Arbor runs as root and ARBOR_AGENT_USER is unset: agents run as root and can read every secret Arbor has ' +
        '(its environment, the database password, token files) and everything else on this machine. ' +
        'Set ARBOR_AGENT_USER to an unprivileged user (see the README, "Agents and secrets").',
    );
  }
  return user;
}
