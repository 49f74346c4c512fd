import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, realpath, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Real git repositories in temp dirs, for tests of sessions and worktrees.
 * Commits made here carry their identity with `-c`, so neither the repository
 * nor the machine needs one configured.
 */

/** The ambient environment without GIT_* variables (a run from inside a git hook would leak GIT_DIR). */
export function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_')));
  return { ...env, ...extra };
}

/** Runs git and returns its trimmed stdout; throws (with stderr) on a non-zero exit. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The exit code of a git command (output discarded). */
export function gitCode(cwd: string, ...args: string[]): number {
  return spawnSync('git', args, { cwd, env: gitEnv(), stdio: 'ignore' }).status ?? -1;
}

export const TEST_IDENTITY = ['-c', 'user.name=Test', '-c', 'user.email=test@example.com'];

/** Stages everything and commits it; returns the new sha. */
export function commitAll(cwd: string, message: string): string {
  git(cwd, 'add', '--all');
  git(cwd, ...TEST_IDENTITY, 'commit', '-q', '--no-verify', '-m', message);
  return git(cwd, 'rev-parse', 'HEAD');
}

export interface TestRepo {
  /** Real (symlink-free) path of the repository's top level. */
  path: string;
  /** Sha of the initial commit on `main`. */
  initial: string;
}

/**
 * A new repository under `parent` (default: the OS temp dir) with one commit
 * on `main` holding `files` (default: a README).
 */
export async function createGitRepo(
  options: { parent?: string; files?: Record<string, string>; prefix?: string } = {},
): Promise<TestRepo> {
  const dir = await realpath(await mkdtemp(path.join(options.parent ?? os.tmpdir(), options.prefix ?? 'arbor-repo-')));
  git(dir, 'init', '-q', '-b', 'main');
  const files = options.files ?? { 'README.md': 'hello\n' };
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, name), content);
  }
  const initial = commitAll(dir, 'initial');
  return { path: dir, initial };
}

/** Whether `refs/heads/<branch>` exists. */
export function branchExists(repo: string, branch: string): boolean {
  return gitCode(repo, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`) === 0;
}

/** The content of `file` at `rev` (`git show rev:file`), or null when it is not there. */
export function showFile(repo: string, rev: string, file: string): string | null {
  const result = spawnSync('git', ['show', `${rev}:${file}`], { cwd: repo, env: gitEnv(), encoding: 'utf8' });
  return result.status === 0 ? result.stdout : null;
}

/** Commit subjects reachable from `rev`, newest first (`git log --format=%s`). */
export function logSubjects(repo: string, rev: string, ...extra: string[]): string[] {
  const out = git(repo, 'log', '--format=%s', ...extra, rev);
  return out === '' ? [] : out.split('\n');
}

/** Paths of the repository's worktrees, main worktree first. */
export function worktreePaths(repo: string): string[] {
  return git(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .map((line) => line.slice('worktree '.length));
}
