import { existsSync } from 'node:fs';
import path from 'node:path';
import { environmentOf, type AgentUser } from './agent-user.js';
import { inProcessRunner, type CapturedCommand, type CapturedResult, type CommandRunner } from './spawner/command-spawner.js';

/**
 * One place that runs git for the worktree manager: git itself, spawned by a
 * CommandRunner (in the server, the spawner process: spawner/command-spawner.ts
 * says why). Every call reports its exit code, and callers decide; a quiet
 * failure (`rev-parse --verify --quiet`, `diff --quiet`) is a result, not an
 * exception.
 *
 * (simple-git was used here before; its completion plugin sleeps 50 ms after
 * every command that prints nothing, which made a session start several
 * hundred milliseconds slower than the `git worktree add` it needs.)
 */

/** Exit code (128 + the signal's number if git was killed by one), stdout, stderr, and whether stdout was cut at `maxStdoutBytes`. */
export type GitResult = CapturedResult;

/** A git command that exited non-zero where success was required. */
export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly cwd: string,
    readonly result: GitResult,
  ) {
    super(`git ${args[0] ?? ''} failed in ${cwd}: ${gitMessage(result)}`);
    this.name = 'GitCommandError';
  }
}

/**
 * Commits Arbor makes (leftover work, merge-backs) are Arbor's, and must work
 * on a machine with no git identity. `-c` applies to that one command only;
 * the repository's config is never edited. The author.* and committer.* keys
 * are set too because they take precedence over user.* where configured.
 */
export const ARBOR_IDENTITY: readonly string[] = [
  'user.name=Arbor',
  'user.email=arbor@localhost',
  'author.name=Arbor',
  'author.email=arbor@localhost',
  'committer.name=Arbor',
  'committer.email=arbor@localhost',
  // A signing setup that needs a key or an agent would make Arbor's commits fail.
  'commit.gpgSign=false',
];

export interface RunGitOptions {
  /** Extra `-c key=value` settings for this command only. */
  config?: readonly string[];
  /** Ends git (and rejects) when it has not finished within this long: for commands that reach a remote. */
  timeoutMs?: number;
  /** Keeps at most this much of stdout and then ends git: the result says `truncated` (for output that may be huge, such as a patch). */
  maxStdoutBytes?: number;
}

/** `git worktree list --porcelain`, one entry per worktree; the first is the main one. */
export interface WorktreeEntry {
  path: string;
  head: string | null;
  /** Full ref (refs/heads/x), or null when detached or bare. */
  branch: string | null;
  locked: boolean;
  /** Registered, but its directory is gone. */
  prunable: boolean;
}

/** git, bound to an environment. */
export interface Git {
  /** Runs git in `cwd`; resolves with the exit code instead of rejecting on a non-zero one. */
  run(cwd: string, args: readonly string[], options?: RunGitOptions): Promise<GitResult>;
  /** Runs git and returns its stdout; throws GitCommandError on a non-zero exit. */
  output(cwd: string, args: readonly string[], options?: RunGitOptions): Promise<string>;
  listWorktrees(cwd: string): Promise<WorktreeEntry[]>;
  /** The commit a revision names, or null if it names none; throws when git fails otherwise (not a repository, a lock). */
  resolveCommit(cwd: string, revision: string): Promise<string | null>;
  /** resolveCommit for several revisions, in order: one git command when each names a commit. */
  resolveCommits(cwd: string, revisions: readonly string[]): Promise<(string | null)[]>;
  /** Paths with unresolved conflicts; -z so unusual file names are not quoted. */
  unmergedPaths(cwd: string): Promise<string[]>;
  /** Nothing to commit: `git status --porcelain` is empty (ignored files never count; untracked ones only if asked). */
  isClean(cwd: string, options: { untracked: boolean }): Promise<boolean>;
  /** Whether a file in the worktree's git dir exists (MERGE_HEAD, rebase-merge...); --git-path finds a linked worktree's own dir. */
  pathExists(cwd: string, name: string): Promise<boolean>;
}

/**
 * git run with `env` as its environment, minus every GIT_* variable: a
 * GIT_DIR or GIT_INDEX_FILE (as set for a git hook Arbor runs under, say)
 * must never redirect Arbor's commands. `env` is read at each call.
 *
 * With `user`, git runs as that user (the agents' user), with its HOME. Its
 * worktrees, and the repository, are written by agents: root running git there
 * would run the hooks and config commands (core.fsmonitor, say) agents put
 * there, so Arbor's git runs with no more rights than they have. That user
 * trusts a repository owned by someone else (safe.directory, for this command
 * only): the owner handed it to Arbor to work in.
 *
 * `spawner` starts the processes: this one by default; the server passes its
 * SpawnerProcess.
 */
export function createGit(
  env: Readonly<Record<string, string | undefined>>,
  options: { user?: AgentUser | null; spawner?: CommandRunner } = {},
): Git {
  const user = options.user ?? null;
  const spawner = options.spawner ?? inProcessRunner;
  const run = (cwd: string, args: readonly string[], runOptions: RunGitOptions = {}): Promise<GitResult> =>
    spawner.run(
      user === null
        ? gitCommand(cwd, args, runOptions, childEnvironment(env), null)
        : gitCommand(cwd, args, { ...runOptions, config: [...AS_AGENT_USER, ...(runOptions.config ?? [])] }, environmentOf(user, childEnvironment(env)), user),
    );

  const output = async (cwd: string, args: readonly string[], runOptions: RunGitOptions = {}): Promise<string> => {
    const result = await run(cwd, args, runOptions);
    if (result.code !== 0) throw new GitCommandError(args, cwd, result);
    return result.stdout;
  };

  const git: Git = {
    run,
    output,
    async listWorktrees(cwd) {
      return parseWorktreeList(await output(cwd, ['worktree', 'list', '--porcelain']));
    },
    async resolveCommit(cwd, revision) {
      const args = ['rev-parse', '--verify', '--quiet', `${revision}^{commit}`];
      const result = await run(cwd, args);
      const sha = result.stdout.trim();
      if (result.code === 0 && sha !== '') return sha;
      // --quiet: "no such commit" is exit 1 and nothing said. Anything else (128: not a repository, a
      // lock, a failing git) is an error, never taken for a missing commit.
      if (result.code === 1) return null;
      throw new GitCommandError(args, cwd, result);
    },
    async resolveCommits(cwd, revisions) {
      // Without --verify, rev-parse takes several revisions, but a missing one fails them all with
      // the exit code of a failing git, and one starting with '-' is printed back as an option. So
      // its answer counts only when it is one commit id per revision; otherwise each revision is
      // asked on its own, which tells a missing commit from a failure.
      if (revisions.length > 1 && revisions.every((revision) => !revision.startsWith('-'))) {
        const result = await run(cwd, ['rev-parse', ...revisions.map((revision) => `${revision}^{commit}`)]);
        const shas = result.stdout.split('\n').filter((line) => line !== '');
        if (result.code === 0 && shas.length === revisions.length && shas.every((sha) => OBJECT_ID.test(sha))) return shas;
      }
      const commits: (string | null)[] = [];
      for (const revision of revisions) commits.push(await git.resolveCommit(cwd, revision));
      return commits;
    },
    async unmergedPaths(cwd) {
      const out = await output(cwd, ['diff', '--name-only', '-z', '--diff-filter=U']);
      return [...new Set(out.split('\0').filter((p) => p !== ''))].sort();
    },
    async isClean(cwd, options) {
      const args = ['status', '--porcelain', options.untracked ? '--untracked-files=normal' : '--untracked-files=no'];
      return (await output(cwd, args)).trim() === '';
    },
    async pathExists(cwd, name) {
      const relative = (await output(cwd, ['rev-parse', '--git-path', name])).trim();
      return existsSync(path.resolve(cwd, relative));
    },
  };
  return git;
}

const AS_AGENT_USER: readonly string[] = ['safe.directory=*'];

/** A full object id: SHA-1 or SHA-256. */
export const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

function childEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const child: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !key.startsWith('GIT_')) child[key] = value;
  }
  // A server has no one to answer a credential prompt: git fails instead of waiting for one.
  child.GIT_TERMINAL_PROMPT = '0';
  return child;
}

function gitCommand(
  cwd: string,
  args: readonly string[],
  options: RunGitOptions,
  env: Record<string, string>,
  user: AgentUser | null,
): CapturedCommand {
  return {
    file: 'git',
    args: [...(options.config ?? []).flatMap((setting) => ['-c', setting]), ...args],
    cwd,
    env,
    label: `git ${args[0] ?? ''} in ${cwd}`,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    timeoutMs: options.timeoutMs,
    maxStdoutBytes: options.maxStdoutBytes,
  };
}

function parseWorktreeList(out: string): WorktreeEntry[] {
  const entries: WorktreeEntry[] = [];
  let current: WorktreeEntry | null = null;
  for (const line of out.split('\n')) {
    if (line.startsWith('worktree ')) {
      current = { path: line.slice('worktree '.length), head: null, branch: null, locked: false, prunable: false };
      entries.push(current);
    } else if (current === null) {
      continue;
    } else if (line.startsWith('HEAD ')) {
      current.head = line.slice('HEAD '.length);
    } else if (line.startsWith('branch ')) {
      current.branch = line.slice('branch '.length);
    } else if (line === 'locked' || line.startsWith('locked ')) {
      current.locked = true;
    } else if (line === 'prunable' || line.startsWith('prunable ')) {
      current.prunable = true;
    }
  }
  return entries;
}

/** The first lines of what git said, without its "fatal: " prefixes, for an error message. */
export function gitMessage(result: GitResult): string {
  const text = result.stderr.trim() || result.stdout.trim() || `exit code ${result.code}`;
  return text
    .split('\n')
    .map((line) => line.replace(/^(fatal|error): /, '').trim())
    .filter((line) => line !== '' && !line.startsWith('hint:'))
    .slice(0, 5)
    .join('; ');
}
