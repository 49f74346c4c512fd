import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { commitAll, git } from './git-repo.js';

/**
 * Commits `files` on `branch` (made from `from` when it does not exist yet)
 * in a throwaway worktree of `repo`, leaving the repository's own checkout
 * alone; returns the new commit.
 */
export async function commitOnBranch(repo: string, branch: string, files: Record<string, string>, from = 'main'): Promise<string> {
  const dir = path.join(git(repo, 'rev-parse', '--absolute-git-dir'), `scratch-${branch.replaceAll('/', '-')}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const exists = git(repo, 'for-each-ref', `refs/heads/${branch}`) !== '';
  if (exists) git(repo, 'worktree', 'add', '-q', dir, branch);
  else git(repo, 'worktree', 'add', '-q', '-b', branch, dir, from);
  try {
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), content);
    }
    return commitAll(dir, `${branch}: ${Object.keys(files).join(', ')}`);
  } finally {
    git(repo, 'worktree', 'remove', '--force', dir);
  }
}

/** A bare repository at `dir` holding `source`'s branches, as a remote for mirrors. */
export function bareCopy(source: string, dir: string): string {
  git(path.dirname(dir), 'clone', '-q', '--bare', source, dir);
  return dir;
}
