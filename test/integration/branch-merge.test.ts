import { readFile, writeFile } from 'node:fs/promises';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advanceCheckout, localBranchTip, mergeIntoBranch } from '../../server/sessions/branch-merge.js';
import { createGit } from '../../server/sessions/git-command.js';
import { commitOnBranch } from '../support/git-branches.js';
import { createGitRepo, git, logSubjects, showFile, worktreePaths } from '../support/git-repo.js';

const gitRunner = createGit(process.env);
let tmp: string;
beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'arbor-branch-merge-')));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** A repository with `arbor/goal` made from main, and its main checkout left on main. */
async function goalRepo(files: Record<string, string> = { 'README.md': 'hello\n', 'shared.txt': 'one\ntwo\nthree\n' }) {
  const repo = await createGitRepo({ parent: tmp, files });
  git(repo.path, 'branch', 'arbor/goal', 'main');
  return repo.path;
}

const mergeMessage = (task: string) => `arbor: merge ${task}`;

describe('merging a task branch without a worktree', () => {
  it('makes a merge commit (goal head first, task head second) by Arbor, and a second merge of the same branch does nothing', async () => {
    const repo = await goalRepo();
    const task = await commitOnBranch(repo, 'arbor/task-a', { 'a.txt': 'A\n' });
    const head = git(repo, 'rev-parse', 'arbor/goal');
    const statusBefore = git(repo, 'status', '--porcelain');

    const outcome = await mergeIntoBranch(gitRunner, localBranchTip(gitRunner, repo, 'arbor/goal'), { task: 'arbor/task-a', message: mergeMessage('a') });
    expect(outcome).toMatchObject({ kind: 'merged', previous: head, tries: 1 });
    const merged = git(repo, 'rev-parse', 'arbor/goal');
    expect(outcome.kind === 'merged' && outcome.sha).toBe(merged);
    expect(git(repo, 'rev-list', '--parents', '-n1', merged).split(' ').slice(1)).toEqual([head, task]);
    expect(git(repo, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', merged)).toBe('Arbor <arbor@localhost>|Arbor <arbor@localhost>|arbor: merge a');
    expect(showFile(repo, 'arbor/goal', 'a.txt')).toBe('A\n');
    // No checkout was touched.
    expect(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(git(repo, 'status', '--porcelain')).toBe(statusBefore);

    const again = await mergeIntoBranch(gitRunner, localBranchTip(gitRunner, repo, 'arbor/goal'), { task: 'arbor/task-a', message: mergeMessage('a') });
    expect(again).toEqual({ kind: 'already-merged', head: merged });
    expect(git(repo, 'rev-parse', 'arbor/goal')).toBe(merged);
  });

  it('two merges into one goal branch at the same moment: the one that loses the swap merges again on the new head, and both land', async () => {
    const repo = await goalRepo();
    const taskA = await commitOnBranch(repo, 'arbor/task-a', { 'a.txt': 'A\n' });
    const taskB = await commitOnBranch(repo, 'arbor/task-b', { 'b.txt': 'B\n' });
    const start = git(repo, 'rev-parse', 'arbor/goal');
    const tip = () => localBranchTip(gitRunner, repo, 'arbor/goal');

    let otherOutcome: Awaited<ReturnType<typeof mergeIntoBranch>> | undefined;
    const seen: { tries: number; head: string }[] = [];
    const outcome = await mergeIntoBranch(gitRunner, tip(), {
      task: 'arbor/task-a',
      message: mergeMessage('a'),
      // A has read the head and made its commit; B merges and publishes first.
      beforePublish: async ({ tries, head }) => {
        seen.push({ tries, head });
        if (tries === 1) otherOutcome = await mergeIntoBranch(gitRunner, tip(), { task: 'arbor/task-b', message: mergeMessage('b') });
      },
    });

    expect(otherOutcome).toMatchObject({ kind: 'merged', previous: start, tries: 1 });
    const bMerge = otherOutcome!.kind === 'merged' ? otherOutcome!.sha : '';
    expect(seen).toEqual([
      { tries: 1, head: start },
      { tries: 2, head: bMerge },
    ]);
    expect(outcome).toMatchObject({ kind: 'merged', previous: bMerge, tries: 2 });
    const final = git(repo, 'rev-parse', 'arbor/goal');
    expect(git(repo, 'rev-list', '--parents', '-n1', final).split(' ').slice(1)).toEqual([bMerge, taskA]);
    for (const task of [taskA, taskB]) expect(git(repo, 'merge-base', '--is-ancestor', task, final)).toBe('');
    expect(logSubjects(repo, 'arbor/goal', '--first-parent')).toEqual(['arbor: merge a', 'arbor: merge b', 'initial']);
  });

  it('a conflict reports the paths and leaves the goal branch, the checkout and the worktrees as they were', async () => {
    const repo = await goalRepo();
    await commitOnBranch(repo, 'arbor/goal', { 'shared.txt': 'one\nGOAL\nthree\n' });
    await commitOnBranch(repo, 'arbor/task-c', { 'shared.txt': 'one\nTASK\nthree\n', 'name with space.txt': 'x\n' });
    await commitOnBranch(repo, 'arbor/task-c', { 'name with space.txt': 'y\n' });
    await commitOnBranch(repo, 'arbor/goal', { 'name with space.txt': 'z\n' });
    const head = git(repo, 'rev-parse', 'arbor/goal');
    const worktrees = worktreePaths(repo);

    const outcome = await mergeIntoBranch(gitRunner, localBranchTip(gitRunner, repo, 'arbor/goal'), { task: 'arbor/task-c', message: mergeMessage('c') });
    expect(outcome).toEqual({ kind: 'conflicts', paths: ['name with space.txt', 'shared.txt'], head });
    expect(git(repo, 'rev-parse', 'arbor/goal')).toBe(head);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(worktreePaths(repo)).toEqual(worktrees);
  });

  it('an unknown task ref is an error, not a conflict', async () => {
    const repo = await goalRepo();
    await expect(
      mergeIntoBranch(gitRunner, localBranchTip(gitRunner, repo, 'arbor/goal'), { task: 'arbor/no-such-task', message: 'm' }),
    ).rejects.toThrow(/no such commit/);
  });
});

describe('bringing the pinned checkout up to the merged goal branch', () => {
  /** A worktree with the goal branch checked out, as the pinned session has. */
  async function pinned(repo: string) {
    const dir = path.join(tmp, `pinned-${Math.random().toString(36).slice(2)}`);
    git(repo, 'worktree', 'add', '-q', dir, 'arbor/goal');
    return dir;
  }

  it('keeps uncommitted edits and untracked files, and brings in what the merge added', async () => {
    const repo = await goalRepo();
    const dir = await pinned(repo);
    await writeFile(path.join(dir, 'README.md'), 'hello, edited\n');
    await writeFile(path.join(dir, 'notes.txt'), 'untracked\n');
    await commitOnBranch(repo, 'arbor/task-a', { 'a.txt': 'A\n', 'shared.txt': 'one\ntwo\nthree\nfour\n' });
    const from = git(dir, 'rev-parse', 'HEAD');

    const merged = await mergeIntoBranch(gitRunner, localBranchTip(gitRunner, repo, 'arbor/goal'), { task: 'arbor/task-a', message: mergeMessage('a') });
    if (merged.kind !== 'merged') throw new Error(merged.kind);
    // The branch moved under the checkout: its files are still those of `from`.
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(merged.sha);

    expect(await advanceCheckout(gitRunner, dir, from, merged.sha)).toEqual({ kind: 'advanced' });
    expect(await readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('A\n');
    expect(await readFile(path.join(dir, 'shared.txt'), 'utf8')).toBe('one\ntwo\nthree\nfour\n');
    expect(await readFile(path.join(dir, 'README.md'), 'utf8')).toBe('hello, edited\n');
    expect(await readFile(path.join(dir, 'notes.txt'), 'utf8')).toBe('untracked\n');
    expect(git(dir, 'diff', '--name-only')).toBe('README.md');
    expect(git(dir, 'diff', '--cached', '--name-only')).toBe('');
    expect(git(dir, 'ls-files', '--others', '--exclude-standard')).toBe('notes.txt');
  });

  it('moves HEAD too when the branch was moved elsewhere (a remote), with the same care', async () => {
    const repo = await goalRepo();
    const dir = await pinned(repo);
    const from = git(dir, 'rev-parse', 'HEAD');
    await writeFile(path.join(dir, 'README.md'), 'hello, edited\n');
    const to = await commitOnBranch(repo, 'arbor/elsewhere', { 'a.txt': 'A\n' }, 'arbor/goal');

    expect(await advanceCheckout(gitRunner, dir, from, to)).toEqual({ kind: 'advanced' });
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(to);
    expect(git(repo, 'rev-parse', 'arbor/goal')).toBe(to);
    expect(git(dir, 'diff', '--name-only')).toBe('README.md');
    expect(git(dir, 'diff', '--cached', '--name-only')).toBe('');
  });

  it('refuses, changing nothing, when the merge changed a file with uncommitted edits or would overwrite an untracked one', async () => {
    const repo = await goalRepo();
    const dir = await pinned(repo);
    await writeFile(path.join(dir, 'shared.txt'), 'one\nmine\nthree\n');
    await commitOnBranch(repo, 'arbor/task-a', { 'shared.txt': 'one\ntwo\nthree\nfour\n' });
    const from = git(dir, 'rev-parse', 'HEAD');
    const merged = await mergeIntoBranch(gitRunner, localBranchTip(gitRunner, repo, 'arbor/goal'), { task: 'arbor/task-a', message: mergeMessage('a') });
    if (merged.kind !== 'merged') throw new Error(merged.kind);
    const index = git(dir, 'ls-files', '--stage');

    const refused = await advanceCheckout(gitRunner, dir, from, merged.sha);
    expect(refused).toMatchObject({ kind: 'refused', reason: expect.stringContaining('shared.txt') });
    expect(await readFile(path.join(dir, 'shared.txt'), 'utf8')).toBe('one\nmine\nthree\n');
    expect(git(dir, 'ls-files', '--stage')).toBe(index);

    // An untracked file where the merge brings a tracked one.
    const second = await goalRepo();
    const dir2 = await pinned(second);
    await writeFile(path.join(dir2, 'a.txt'), 'my own a\n');
    const from2 = git(dir2, 'rev-parse', 'HEAD');
    await commitOnBranch(second, 'arbor/task-a', { 'a.txt': 'A\n' });
    const merged2 = await mergeIntoBranch(gitRunner, localBranchTip(gitRunner, second, 'arbor/goal'), { task: 'arbor/task-a', message: mergeMessage('a') });
    if (merged2.kind !== 'merged') throw new Error(merged2.kind);
    expect(await advanceCheckout(gitRunner, dir2, from2, merged2.sha)).toMatchObject({ kind: 'refused', reason: expect.stringContaining('a.txt') });
    expect(await readFile(path.join(dir2, 'a.txt'), 'utf8')).toBe('my own a\n');
  });
});
