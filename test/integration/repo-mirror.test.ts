import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeIntoBranch } from '../../server/sessions/branch-merge.js';
import { createGit } from '../../server/sessions/git-command.js';
import { MirrorError, RepoMirrors } from '../../server/sessions/repo-mirror.js';
import { bareCopy, commitOnBranch } from '../support/git-branches.js';
import { branchExists, createGitRepo, git, gitCode, logSubjects } from '../support/git-repo.js';

const gitRunner = createGit(process.env);
let tmp: string;
beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'arbor-mirror-')));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

let counter = 0;
/** A bare remote (reached by file://) with main, a tag and `arbor/goal`; and a mirror root as one instance's data dir would have. */
async function setup() {
  const n = ++counter;
  const source = await createGitRepo({ parent: tmp });
  git(source.path, 'tag', 'v1');
  git(source.path, 'branch', 'arbor/goal');
  const remote = bareCopy(source.path, path.join(tmp, `remote-${n}.git`));
  const url = `file://${remote}`;
  const mirrors = (name: string) => new RepoMirrors(gitRunner, path.join(tmp, `data-${n}-${name}`, 'mirrors'));
  return { remote, url, initial: source.initial, mirrors };
}

describe('a mirror of a remote repository', () => {
  it('is one bare clone per URL under the data dir, with the remote branches tracked and no local branch', async () => {
    const { url, initial, mirrors } = await setup();
    const manager = mirrors('a');
    const [first, second] = await Promise.all([manager.open(url), manager.open(url)]);
    expect(first!.path).toBe(second!.path);
    expect(path.dirname(first!.path)).toBe(manager.root);
    expect(await readdir(manager.root)).toEqual([path.basename(first!.path)]);
    expect(git(first!.path, 'rev-parse', '--is-bare-repository')).toBe('true');
    expect(await first!.trackedTip('main')).toBe(initial);
    expect(git(first!.path, 'rev-parse', 'v1')).toBe(initial);
    expect(git(first!.path, 'for-each-ref', '--format=%(refname)', 'refs/heads')).toBe('');
    // Opened again later (a restart): the same mirror, no second clone.
    const reopened = await mirrors('a').open(url);
    expect(reopened.path).toBe(first!.path);
  });

  it('fetch brings a mirror that is behind up to the remote, prunes what the remote deleted, and never touches local branches', async () => {
    const { remote, url, mirrors } = await setup();
    const mirror = await mirrors('a').open(url);
    git(mirror.path, 'branch', 'arbor/unpushed', 'refs/remotes/origin/main');
    const newer = await commitOnBranch(remote, 'main', { 'new.txt': 'new\n' });
    git(remote, 'branch', '-D', 'arbor/goal');
    expect(await mirror.trackedTip('main')).not.toBe(newer);

    await mirror.fetch();
    expect(await mirror.trackedTip('main')).toBe(newer);
    expect(await mirror.trackedTip('arbor/goal')).toBeNull();
    expect(branchExists(mirror.path, 'arbor/unpushed')).toBe(true);
  });

  it('pushes a new branch, and a push whose lease lost changes nothing on the remote', async () => {
    const { remote, url, mirrors } = await setup();
    const mirror = await mirrors('a').open(url);
    const task = await commitOnBranch(mirror.path, 'arbor/task-1', { 't.txt': 'task\n' }, 'refs/remotes/origin/main');
    expect(await mirror.push('arbor/task-1', 'arbor/task-1', { expected: null })).toBe('pushed');
    expect(git(remote, 'rev-parse', 'arbor/task-1')).toBe(task);
    expect(await mirror.trackedTip('arbor/task-1')).toBe(task);
    // The same push again finds it done (idempotent); another commit where "none yet" was expected is lost.
    expect(await mirror.push('arbor/task-1', 'arbor/task-1', { expected: null })).toBe('pushed');
    const other = await commitOnBranch(mirror.path, 'arbor/other', { 'o.txt': 'other\n' }, 'refs/remotes/origin/main');
    expect(await mirror.push(other, 'arbor/task-1', { expected: null })).toBe('lost');
    expect(git(remote, 'rev-parse', 'arbor/task-1')).toBe(task);

    // Someone else moves main on the remote; this mirror's lease names the old tip.
    const old = (await mirror.trackedTip('main'))!;
    const theirs = await commitOnBranch(remote, 'main', { 'theirs.txt': 'x\n' });
    const mine = await commitOnBranch(mirror.path, 'arbor/mine', { 'mine.txt': 'y\n' }, old);
    expect(await mirror.push(mine, 'main', { expected: old })).toBe('lost');
    expect(git(remote, 'rev-parse', 'main')).toBe(theirs);
    // Without a lease, not a fast-forward: lost too, nothing changed.
    expect(await mirror.push(mine, 'main')).toBe('lost');
    expect(git(remote, 'rev-parse', 'main')).toBe(theirs);
  });

  it('a remote that refuses a push: a clear error, and the remote as it was', async () => {
    const { remote, url, mirrors } = await setup();
    const hook = path.join(remote, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "pushes are closed today" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const mirror = await mirrors('a').open(url);
    const task = await commitOnBranch(mirror.path, 'arbor/task-1', { 't.txt': 'task\n' }, 'refs/remotes/origin/arbor/goal');
    const goalBefore = git(remote, 'rev-parse', 'arbor/goal');

    await expect(mirror.push('arbor/task-1', 'arbor/task-1')).rejects.toThrow(/pre-receive hook declined.*pushes are closed today/);
    const merging = mergeIntoBranch(gitRunner, mirror.branchTip('arbor/goal'), { task, message: 'arbor: merge task-1' });
    await expect(merging).rejects.toBeInstanceOf(MirrorError);
    await expect(merging).rejects.toThrow(/pushing arbor\/goal to file:\S+ was refused: \[remote rejected\] \(pre-receive hook declined\)/);
    expect(git(remote, 'rev-parse', 'arbor/goal')).toBe(goalBefore);
    expect(gitCode(remote, 'rev-parse', '--verify', '--quiet', 'refs/heads/arbor/task-1')).not.toBe(0);
  });

  it('two instances merging into one remote goal branch at the same moment: the loser fetches, merges again, and the remote holds both', async () => {
    const { remote, url, mirrors } = await setup();
    const mirrorA = await mirrors('a').open(url);
    const mirrorB = await mirrors('b').open(url);
    const taskA = await commitOnBranch(mirrorA.path, 'arbor/task-a', { 'a.txt': 'A\n' }, 'refs/remotes/origin/arbor/goal');
    const taskB = await commitOnBranch(mirrorB.path, 'arbor/task-b', { 'b.txt': 'B\n' }, 'refs/remotes/origin/arbor/goal');
    await mirrorA.push('arbor/task-a', 'arbor/task-a', { expected: null });
    await mirrorB.push('arbor/task-b', 'arbor/task-b', { expected: null });

    let other: Awaited<ReturnType<typeof mergeIntoBranch>> | undefined;
    const outcome = await mergeIntoBranch(gitRunner, mirrorA.branchTip('arbor/goal'), {
      task: taskA,
      message: 'arbor: merge a',
      beforePublish: async ({ tries }) => {
        if (tries === 1) other = await mergeIntoBranch(gitRunner, mirrorB.branchTip('arbor/goal'), { task: taskB, message: 'arbor: merge b' });
      },
    });
    expect(other).toMatchObject({ kind: 'merged', tries: 1 });
    expect(outcome).toMatchObject({ kind: 'merged', tries: 2 });
    expect(logSubjects(remote, 'arbor/goal', '--first-parent')).toEqual(['arbor: merge a', 'arbor: merge b', 'initial']);
    for (const task of [taskA, taskB]) expect(gitCode(remote, 'merge-base', '--is-ancestor', task, 'arbor/goal')).toBe(0);
  });

  it('never shows the credentials of a URL in its errors', async () => {
    const manager = new RepoMirrors(gitRunner, path.join(tmp, 'data-credentials', 'mirrors'));
    const url = 'https://someone:s3cret-token@127.0.0.1:1/acme/web.git';
    const error = await manager.open(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MirrorError);
    expect((error as Error).message).toContain('https://***@127.0.0.1:1/acme/web.git');
    expect((error as Error).message).not.toContain('s3cret');
    // A clone cut short leaves nothing that could pass for a mirror.
    expect(existsSync(manager.pathFor(url))).toBe(false);
  });
});
