import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGit, GitCommandError } from '../../server/sessions/git-command.js';
import { commitOnBranch } from '../support/git-branches.js';
import { createGitRepo, git } from '../support/git-repo.js';

const gitRunner = createGit(process.env);
let tmp: string;
beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'arbor-git-command-')));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('resolving several revisions', () => {
  it('gives the commit of each, tags peeled, and null for one that names none', async () => {
    const repo = await createGitRepo({ parent: tmp });
    const side = await commitOnBranch(repo.path, 'side', { 'side.txt': 'side\n' });
    git(repo.path, 'tag', '-a', '-m', 'annotated', 'v1', 'side');
    expect(await gitRunner.resolveCommits(repo.path, ['main', 'refs/heads/side', 'v1', side])).toEqual([repo.initial, side, side, side]);
    expect(await gitRunner.resolveCommits(repo.path, ['main', 'refs/heads/missing', 'side'])).toEqual([repo.initial, null, side]);
    // A tree is no commit.
    expect(await gitRunner.resolveCommits(repo.path, ['main', 'main^{tree}'])).toEqual([repo.initial, null]);
  });

  it('never takes an option or a range for a commit', async () => {
    const repo = await createGitRepo({ parent: tmp });
    const side = await commitOnBranch(repo.path, 'side', { 'side.txt': 'side\n' });
    // Without --verify, git would print these back (or as two lines) and exit 0.
    expect(await gitRunner.resolveCommits(repo.path, ['main', '--all'])).toEqual([repo.initial, null]);
    expect(await gitRunner.resolveCommits(repo.path, ['main..side', 'side'])).toEqual([null, side]);
  });

  it('throws when git fails rather than answering "no such commit"', async () => {
    const plain = await mkdtemp(path.join(tmp, 'plain-'));
    await expect(gitRunner.resolveCommits(plain, ['main', 'HEAD'])).rejects.toThrow(GitCommandError);
  });
});
