import { stat } from 'node:fs/promises';
import type { GoalPreflight, GoalProblem, GoalRequirements } from '../orchestrator/session-runner.js';
import { agentCliProblem } from './agents/cli-lookup.js';
import type { AgentSettings } from './agents/index.js';
import type { AgentUser } from './agent-user.js';
import { classifyRepo, redactUrlCredentials } from '../domain/repo-location.js';
import { createGit, gitMessage, type GitResult } from './git-command.js';
import type { CommandRunner } from './spawner/command-spawner.js';

/**
 * What a goal needs of this machine before its first run can start: a git
 * repository at `repo`, a `base_ref` that names a commit in it, the agent's
 * CLI on the PATH. Found at POST /api/goals, a mistake is a 422 now rather
 * than a failed task minutes later; found after a failed start, it tells a
 * failure that cannot heal from one worth retrying. Fast: a stat, one
 * `git rev-parse`, a PATH lookup.
 */
export interface GoalPreflightOptions {
  agents: AgentSettings;
  /** The environment agents and git run with (its PATH finds both). */
  env: Record<string, string>;
  /**
   * Whether this instance runs agents. One that does not (role `api`) checks
   * only a repository it can see: its workers may be on machines where the
   * path exists, with the CLIs installed.
   */
  runsAgents: boolean;
  /** The user agents (and Arbor's git in their repositories) run as, when not Arbor's own. */
  agentUser?: AgentUser | null;
  /** Where git is started from (the server's SpawnerProcess); this process by default. */
  spawner?: CommandRunner;
}

/** A ref git would read as an option: refused outright, whether or not the repository can be checked. */
export function baseRefProblem(baseRef: string): GoalProblem | null {
  if (!baseRef.startsWith('-')) return null;
  return { field: 'base_ref', message: `base_ref "${baseRef}" starts with "-", which git would take for an option: give a branch, tag or sha` };
}

export function createGoalPreflight(options: GoalPreflightOptions): GoalPreflight {
  // As the agents' user, like every git command Arbor runs in their repositories.
  const git = createGit(options.env, { user: options.agentUser ?? null, spawner: options.spawner });
  return async (goal: GoalRequirements): Promise<GoalProblem | null> => {
    const unsafe = goal.baseRef === null ? null : baseRefProblem(goal.baseRef);
    if (unsafe) return unsafe;
    const repo = await repoProblem(goal.repo, goal.baseRef, options.runsAgents, git);
    if (repo) return repo;
    if (goal.agent === null || !options.runsAgents) return null;
    const agent = await agentCliProblem(goal.agent, options.agents, options.env.PATH);
    return agent ? { field: 'agent', message: agent } : null;
  };
}

/** How long asking a remote for its refs may take before the goal is refused. */
const LS_REMOTE_TIMEOUT_MS = 15_000;

async function repoProblem(repo: string, baseRef: string | null, mustExist: boolean, git: ReturnType<typeof createGit>): Promise<GoalProblem | null> {
  const location = classifyRepo(repo);
  if (location.kind === 'refused') return { field: 'repo', message: `${location.reason}: give the path of a git repository or a git URL` };
  if (location.kind === 'remote') return remoteProblem(location.url, baseRef, git);
  try {
    if (!(await stat(repo)).isDirectory()) return { field: 'repo', message: `repo ${repo} is not a directory: give the path of a git repository` };
  } catch {
    return mustExist ? { field: 'repo', message: `repo ${repo} does not exist on this machine: give the path of a git repository` } : null;
  }
  // One command answers both questions: 128 is "not a repository" (or unusable), 1 is "no such commit".
  const ref = baseRef ?? 'HEAD';
  const result = await git.run(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  if (result.code === 0) return null;
  if (result.code !== 1) return { field: 'repo', message: `repo ${repo} is not a usable git repository (${gitMessage(result)}): give the path of a clone` };
  if (baseRef === null) return null;
  return { field: 'base_ref', message: `base_ref "${baseRef}" names no commit in ${repo}: give a branch, tag or sha that exists there (e.g. "main" or "HEAD")` };
}

/**
 * A remote repository: `git ls-remote` answers whether it is reachable with
 * the credentials this machine has, and which refs it has; base_ref must be
 * one of its branches or tags, HEAD, or a full sha (which ls-remote cannot
 * confirm: the first fetch does).
 */
async function remoteProblem(url: string, baseRef: string | null, git: ReturnType<typeof createGit>): Promise<GoalProblem | null> {
  const shown = redactUrlCredentials(url);
  let listed: GitResult;
  try {
    listed = await git.run(process.cwd(), ['ls-remote', '--', url], { timeoutMs: LS_REMOTE_TIMEOUT_MS });
  } catch (err) {
    return { field: 'repo', message: redactUrlCredentials(`repo ${shown} did not answer: ${err instanceof Error ? err.message : String(err)}`) };
  }
  if (listed.code !== 0) return { field: 'repo', message: redactUrlCredentials(`repo ${shown} cannot be read (${gitMessage(listed)}): check the URL and this machine's git credentials`) };
  if (baseRef === null || /^[0-9a-f]{40}$/i.test(baseRef)) return null;
  const refs = new Set(listed.stdout.split('\n').map((line) => line.split('\t')[1] ?? '').filter((ref) => ref !== ''));
  const wanted = [baseRef, `refs/heads/${baseRef}`, `refs/tags/${baseRef}`];
  if (wanted.some((ref) => refs.has(ref))) return null;
  return { field: 'base_ref', message: `base_ref "${baseRef}" is no branch or tag of ${shown}: give one that exists there (e.g. "main")` };
}
