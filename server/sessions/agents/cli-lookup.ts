import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AgentName } from '../../domain/states.js';
import type { Logger } from '../../logger.js';
import type { AgentSettings } from './types.js';

/**
 * Whether an agent's CLI is installed, found the way spawn will look for it:
 * a name is looked up on the PATH the agent runs with, a path is taken as it is.
 */

/** The executable `bin` names under this PATH, or null. */
export async function findExecutable(bin: string, searchPath: string | undefined): Promise<string | null> {
  const candidates = bin.includes('/')
    ? [bin]
    : (searchPath ?? '')
        .split(path.delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => path.join(dir, bin));
  for (const candidate of candidates) {
    try {
      if (!(await stat(candidate)).isFile()) continue;
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Why agent `name` cannot start on this machine, saying what to do; null when
 * its program is found. A relative path in ARBOR_AGENT_COMMAND is resolved in
 * the session's worktree, which does not exist yet: it is not judged here.
 */
export async function agentCliProblem(name: AgentName, settings: AgentSettings, searchPath: string | undefined): Promise<string | null> {
  const instead = 'or use another agent ("agent": "command" in the goal, or ARBOR_AGENT=command with ARBOR_AGENT_COMMAND)';
  switch (name) {
    case 'claude':
    case 'codex': {
      const bin = settings[name].bin;
      if (await findExecutable(bin, searchPath)) return null;
      const setting = name === 'claude' ? 'ARBOR_CLAUDE_BIN' : 'ARBOR_CODEX_BIN';
      const product = name === 'claude' ? 'Claude Code' : 'Codex';
      return `the ${name} agent's CLI "${bin}" is not installed (not found on the PATH): install ${product}, set ${setting} to its path, ${instead}`;
    }
    case 'command': {
      const program = settings.command.argv[0];
      if (!program) return 'the command agent has no program: set ARBOR_AGENT_COMMAND (e.g. "node /abs/path/agent.mjs")';
      if ((program.includes('/') && !path.isAbsolute(program)) || (await findExecutable(program, searchPath))) return null;
      return `the command agent's program "${program}" (ARBOR_AGENT_COMMAND) is not installed (not found on the PATH)`;
    }
  }
}

/** At start, a warning when the default agent cannot start here: better now than at the first goal. */
export async function warnIfAgentCliMissing(name: AgentName, settings: AgentSettings, searchPath: string | undefined, logger: Logger): Promise<void> {
  const problem = await agentCliProblem(name, settings, searchPath);
  if (problem) logger.warn({ agent: name }, `the default agent cannot start: ${problem}`);
}
