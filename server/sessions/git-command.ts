import { existsSync } from 'node:fs';
import path from 'node:path';
import { GitError, simpleGit } from 'simple-git';

/**
 * One place that runs git for the worktree manager. simple-git's own `raw()`
 * only rejects when git exits non-zero *and* wrote to stderr, so a quiet
 * failure (`rev-parse --verify --quiet`, `diff --quiet`) would look like
 * success. Here every call reports its exit code, and callers decide.
 */

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

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
 * Carries a non-zero exit out of simple-git's error plugin, so it can be turned
 * back into a result. It must be a GitError: simple-git replaces any other
 * error with a GitError holding only its string form.
 */
class ExitCarrier extends GitError {
  constructor(readonly result: GitResult) {
    super(undefined, `git exited with ${result.code}`);
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
}

/** No output for this long means git is stuck (e.g. waiting on a lock held by a dead process). */
const BLOCK_TIMEOUT_MS = 10 * 60_000;

/** Runs git in `cwd`; resolves with the exit code instead of rejecting on a non-zero one. */
export async function runGit(cwd: string, args: readonly string[], options: RunGitOptions = {}): Promise<GitResult> {
  // simple-git strips inherited GIT_* variables (GIT_DIR, GIT_INDEX_FILE...) from
  // the child's environment, which keeps a hook-like ambient env from redirecting us.
  const git = simpleGit({
    baseDir: cwd,
    config: [...(options.config ?? [])],
    timeout: { block: BLOCK_TIMEOUT_MS },
    errors(error, result) {
      if (result.exitCode !== 0) {
        return new ExitCarrier({
          code: result.exitCode,
          stdout: Buffer.concat(result.stdOut).toString('utf8'),
          stderr: Buffer.concat(result.stdErr).toString('utf8'),
        });
      }
      return error;
    },
  });
  try {
    const stdout = await git.raw([...args]);
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    if (error instanceof ExitCarrier) return error.result;
    throw error;
  }
}

/** Runs git and returns its stdout; throws GitCommandError on a non-zero exit. */
export async function gitOutput(cwd: string, args: readonly string[], options: RunGitOptions = {}): Promise<string> {
  const result = await runGit(cwd, args, options);
  if (result.code !== 0) throw new GitCommandError(args, cwd, result);
  return result.stdout;
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

export async function listWorktrees(cwd: string): Promise<WorktreeEntry[]> {
  const out = await gitOutput(cwd, ['worktree', 'list', '--porcelain']);
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

/** The commit a revision names, or null if it names none. */
export async function resolveCommit(cwd: string, revision: string): Promise<string | null> {
  const result = await runGit(cwd, ['rev-parse', '--verify', '--quiet', `${revision}^{commit}`]);
  const sha = result.stdout.trim();
  return result.code === 0 && sha !== '' ? sha : null;
}

/** Paths with unresolved conflicts; -z so unusual file names are not quoted. */
export async function unmergedPaths(cwd: string): Promise<string[]> {
  const out = await gitOutput(cwd, ['diff', '--name-only', '-z', '--diff-filter=U']);
  return [...new Set(out.split('\0').filter((p) => p !== ''))].sort();
}

/** Nothing to commit: `git status --porcelain` is empty (ignored files never count; untracked ones only if asked). */
export async function isClean(cwd: string, options: { untracked: boolean }): Promise<boolean> {
  const args = ['status', '--porcelain', options.untracked ? '--untracked-files=normal' : '--untracked-files=no'];
  return (await gitOutput(cwd, args)).trim() === '';
}

/** Whether a file in the worktree's git dir exists (MERGE_HEAD, rebase-merge...); --git-path finds a linked worktree's own dir. */
export async function gitPathExists(cwd: string, name: string): Promise<boolean> {
  const relative = (await gitOutput(cwd, ['rev-parse', '--git-path', name])).trim();
  return existsSync(path.resolve(cwd, relative));
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
