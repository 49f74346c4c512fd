import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorktreeError, WorktreeManager } from '../../server/sessions/worktrees.js';
import { commitOnBranch } from '../support/git-branches.js';

/*
 * Real repositories in temp dirs. Test commits pass their identity with -c, so
 * no repository (or the machine) needs one configured; the manager's own
 * commits must work without any.
 */

let tmp: string;
beforeAll(async () => {
  tmp = await realpath(await mkdtemp(join(tmpdir(), 'arbor-worktrees-')));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The ambient env without GIT_* variables (a test run from a git hook would otherwise leak GIT_DIR). */
function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_')));
  return { ...env, ...extra };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function gitStatus(cwd: string, ...args: string[]): number {
  return spawnSync('git', args, { cwd, env: gitEnv(), stdio: 'ignore' }).status ?? -1;
}

function commitAll(cwd: string, message: string): string {
  git(cwd, 'add', '--all');
  git(cwd, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'commit', '-q', '-m', message);
  return git(cwd, 'rev-parse', 'HEAD');
}

function branchExists(repo: string, branch: string): boolean {
  return gitStatus(repo, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`) === 0;
}

/** Paths in git's worktree list, main worktree first. */
function worktreeList(repo: string): string[] {
  return git(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .map((line) => line.slice('worktree '.length));
}

async function makeRepo(): Promise<string> {
  const dir = await mkdtemp(join(tmp, 'repo-'));
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'README.md'), 'hello\n');
  writeFileSync(join(dir, '.gitignore'), '*.log\n');
  commitAll(dir, 'initial');
  return dir;
}

async function makeManager(): Promise<{ manager: WorktreeManager; root: string }> {
  const root = await mkdtemp(join(tmp, 'root-'));
  return { manager: new WorktreeManager({ root, env: process.env }), root };
}

function newGoal(title = 'Add login page') {
  return { id: randomUUID(), title, baseRef: 'main', branch: null as string | null };
}

/** A repo with a goal branch and everything a spawn needs. */
async function goalSetup() {
  const repo = await makeRepo();
  const { manager, root } = await makeManager();
  const goal = newGoal();
  const { branch } = await manager.ensureGoalBranch(repo, goal);
  return { repo, manager, root, goal: { id: goal.id, branch } };
}

describe('goal branches', () => {
  it('names the branch from the title slug and the id', () => {
    const id = '1234abcd-ef01-4000-8000-000000000000';
    expect(WorktreeManager.goalBranchName({ id, title: '  Add OAuth: login & sign-up!  ' })).toBe('arbor/add-oauth-login-sign-up-1234abcd');
    expect(WorktreeManager.goalBranchName({ id, title: 'Café déjà vu' })).toBe('arbor/cafe-deja-vu-1234abcd');
    expect(WorktreeManager.goalBranchName({ id, title: 'A'.repeat(60) })).toBe(`arbor/${'a'.repeat(40)}-1234abcd`);
    // The 40-char cut lands right after a separator: no trailing '-'.
    expect(WorktreeManager.goalBranchName({ id, title: `${'x'.repeat(39)} yz` })).toBe(`arbor/${'x'.repeat(39)}-1234abcd`);
    expect(WorktreeManager.goalBranchName({ id, title: '!!!' })).toBe('arbor/goal-1234abcd');
  });

  it('creates the goal branch from a branch, a tag, a sha or HEAD, and leaves an existing one alone', async () => {
    const repo = await makeRepo();
    const first = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'tag', 'v1');
    git(repo, 'branch', 'release');
    writeFileSync(join(repo, 'README.md'), 'hello again\n');
    const second = commitAll(repo, 'second');
    const { manager } = await makeManager();

    const cases: [string, string][] = [
      ['main', second],
      ['release', first],
      ['v1', first],
      [first, first],
      [first.slice(0, 10), first],
      ['HEAD', second],
    ];
    for (const [baseRef, expected] of cases) {
      const goal = { ...newGoal(`from ${baseRef}`), baseRef };
      const result = await manager.ensureGoalBranch(repo, goal);
      expect(result).toEqual({ branch: WorktreeManager.goalBranchName(goal), head: expected });
      expect(git(repo, 'rev-parse', `refs/heads/${result.branch}`)).toBe(expected);
    }

    // Existing branch: reused as it is, even though main has moved on.
    const goal = newGoal('reuse');
    const created = await manager.ensureGoalBranch(repo, goal);
    writeFileSync(join(repo, 'README.md'), 'third\n');
    commitAll(repo, 'third');
    expect(await manager.ensureGoalBranch(repo, { ...goal, branch: created.branch })).toEqual(created);

    // A recorded branch that has gone missing is made again at base_ref.
    const named = await manager.ensureGoalBranch(repo, { ...newGoal(), baseRef: 'v1', branch: 'arbor/custom-name' });
    expect(named).toEqual({ branch: 'arbor/custom-name', head: first });
  });

  it('fails clearly on a missing base_ref or a path that is not a repository, creating nothing', async () => {
    const repo = await makeRepo();
    const { manager, root } = await makeManager();

    const missing = manager.ensureGoalBranch(repo, { ...newGoal(), baseRef: 'no-such-ref' });
    await expect(missing).rejects.toThrow(WorktreeError);
    await expect(missing).rejects.toThrow(`base_ref "no-such-ref" not found in ${repo}`);
    expect(git(repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/')).toBe('refs/heads/main');

    const plain = await mkdtemp(join(tmp, 'plain-'));
    await expect(manager.ensureGoalBranch(plain, newGoal())).rejects.toThrow(`not a git repository: ${plain}`);
    await expect(manager.goalWorktree(plain, randomUUID(), 'arbor/x')).rejects.toThrow(`not a git repository: ${plain}`);
    await expect(manager.spawnWorktree(plain, { id: randomUUID(), branch: 'arbor/x' }, 'k', randomUUID())).rejects.toThrow(
      WorktreeError,
    );
    expect(readdirSync(plain)).toEqual([]);

    const gone = join(tmp, 'does-not-exist');
    await expect(manager.ensureGoalBranch(gone, newGoal())).rejects.toThrow(`repository path does not exist: ${gone}`);

    mkdirSync(join(repo, 'sub'));
    await expect(manager.ensureGoalBranch(join(repo, 'sub'), newGoal())).rejects.toThrow(/is inside the git repository .* not its top level/);

    await expect(manager.goalWorktree(repo, randomUUID(), 'arbor/never-created')).rejects.toThrow('branch "arbor/never-created" does not exist');
    expect(readdirSync(root)).toEqual([]);
    expect(worktreeList(repo)).toEqual([repo]);
  });
});

describe('goal worktree', () => {
  it('is created on the goal branch and reused afterwards', async () => {
    const { repo, manager, root, goal } = await goalSetup();
    const path = await manager.goalWorktree(repo, goal.id, goal.branch);
    expect(path).toBe(join(root, goal.id.slice(0, 8), 'goal'));
    expect(git(path, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${goal.branch}`);

    writeFileSync(join(path, 'work-in-progress.txt'), 'keep me\n');
    expect(await manager.goalWorktree(repo, goal.id, goal.branch)).toBe(path);
    expect(readFileSync(join(path, 'work-in-progress.txt'), 'utf8')).toBe('keep me\n');
    expect(worktreeList(repo)).toEqual([repo, path]);
  });

  it('refuses a path that exists but is not a worktree', async () => {
    const { repo, manager, root, goal } = await goalSetup();
    const foreign = join(root, goal.id.slice(0, 8), 'goal');
    mkdirSync(foreign, { recursive: true });
    writeFileSync(join(foreign, 'mine.txt'), 'not yours\n');
    await expect(manager.goalWorktree(repo, goal.id, goal.branch)).rejects.toThrow(`${foreign} exists but is not a worktree of ${repo}`);
    expect(readdirSync(foreign)).toEqual(['mine.txt']);
  });

  it('makes the goal worktree though the branch is checked out elsewhere (another instance on this host)', async () => {
    const other = await goalSetup();
    git(other.repo, 'checkout', '-q', other.goal.branch);
    const made = await other.manager.goalWorktree(other.repo, other.goal.id, other.goal.branch);
    expect(worktreeList(other.repo)).toEqual([other.repo, made]);
    expect(git(made, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${other.goal.branch}`);
  });
});

describe('spawned worktrees', () => {
  it('two sessions spawned at once each get a branch and worktree at the goal head', async () => {
    const { repo, manager, root, goal } = await goalSetup();
    const goalPath = await manager.goalWorktree(repo, goal.id, goal.branch);
    writeFileSync(join(goalPath, 'plan.md'), 'the plan\n');
    const goalHead = commitAll(goalPath, 'plan');
    expect(goalHead).not.toBe(git(repo, 'rev-parse', 'main'));

    const sessions = [randomUUID(), randomUUID()];
    const spawned = await Promise.all([
      manager.spawnWorktree(repo, goal, 'api', sessions[0]!),
      manager.spawnWorktree(repo, goal, 'ui.v2', sessions[1]!),
    ]);
    const goal8 = goal.id.slice(0, 8);
    expect(spawned).toEqual([
      { path: join(root, goal8, `api-${sessions[0]!.slice(0, 8)}`), branch: `${goal.branch}--api`, baseSha: goalHead, continued: false, conflicts: [], remoteTip: null },
      { path: join(root, goal8, `ui.v2-${sessions[1]!.slice(0, 8)}`), branch: `${goal.branch}--ui.v2`, baseSha: goalHead, continued: false, conflicts: [], remoteTip: null },
    ]);
    for (const s of spawned) {
      expect(git(s.path, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${s.branch}`);
      expect(git(s.path, 'rev-parse', 'HEAD')).toBe(goalHead);
      expect(readFileSync(join(s.path, 'plan.md'), 'utf8')).toBe('the plan\n');
    }
    expect(new Set(worktreeList(repo))).toEqual(new Set([repo, goalPath, ...spawned.map((s) => s.path)]));
  });

  it('many concurrent spawns on one repository all succeed (git is serialized per repo)', async () => {
    const { repo, manager, goal } = await goalSetup();
    const spawned = await Promise.all(Array.from({ length: 8 }, (_, i) => manager.spawnWorktree(repo, goal, `task-${i}`, randomUUID())));
    expect(new Set(spawned.map((s) => s.path)).size).toBe(8);
    expect(worktreeList(repo)).toHaveLength(9);
    for (const s of spawned) expect(branchExists(repo, s.branch)).toBe(true);
  });

  it('leaves nothing behind when it cannot create the worktree', async () => {
    const { repo, manager, root, goal } = await goalSetup();
    const session = randomUUID();
    const target = join(root, goal.id.slice(0, 8), `build-${session.slice(0, 8)}`);
    const branch = `${goal.branch}--build-${session.slice(0, 8)}`;

    // Something already at the path.
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, 'stray.txt'), 'x\n');
    await expect(manager.spawnWorktree(repo, goal, 'build', session)).rejects.toThrow(`${target} exists but is not a worktree of ${repo}`);
    expect(readdirSync(target)).toEqual(['stray.txt']);
    expect(branchExists(repo, branch)).toBe(false);
    rmSync(join(root, goal.id.slice(0, 8)), { recursive: true });

    // git itself fails after making the branch and the worktree: a failing post-checkout hook
    // makes `git worktree add` exit non-zero yet leave both behind. The manager undoes them.
    const hook = join(repo, '.git', 'hooks', 'post-checkout');
    writeFileSync(hook, '#!/bin/sh\necho "hook says no" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    await expect(manager.spawnWorktree(repo, goal, 'build', session)).rejects.toThrow(/could not create worktree .*hook says no/);
    expect(branchExists(repo, branch)).toBe(false);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(root)).toEqual([]);
    expect(worktreeList(repo)).toEqual([repo]);

    rmSync(hook);
    await expect(manager.spawnWorktree(repo, { ...goal, branch: 'arbor/missing' }, 'build', session)).rejects.toThrow(
      'goal branch "arbor/missing" does not exist',
    );
    await expect(manager.spawnWorktree(repo, goal, '../escape', session)).rejects.toThrow('cannot be used in a worktree path');
  });
});

describe('commitLeftovers', () => {
  it('commits tracked changes and untracked files, respects .gitignore, and returns null when clean', async () => {
    const { repo, manager, goal } = await goalSetup();
    const s = await manager.spawnWorktree(repo, goal, 'edit', randomUUID());
    writeFileSync(join(s.path, 'README.md'), 'changed\n');
    mkdirSync(join(s.path, 'src'));
    writeFileSync(join(s.path, 'src', 'new.ts'), 'export {};\n');
    writeFileSync(join(s.path, 'debug.log'), 'ignored\n');

    const sha = await manager.commitLeftovers(s.path, 'Arbor: uncommitted work of task "edit"');
    expect(sha).toBe(git(s.path, 'rev-parse', 'HEAD'));
    expect(git(s.path, 'log', '-1', '--format=%s|%an <%ae>|%cn <%ce>')).toBe(
      'Arbor: uncommitted work of task "edit"|Arbor <arbor@localhost>|Arbor <arbor@localhost>',
    );
    expect(git(s.path, 'show', '--name-only', '--format=', 'HEAD').split('\n').sort()).toEqual(['README.md', 'src/new.ts']);
    expect(git(s.path, 'status', '--porcelain')).toBe('');
    expect(existsSync(join(s.path, 'debug.log'))).toBe(true);
    expect(git(repo, 'rev-parse', `refs/heads/${s.branch}`)).toBe(sha);

    expect(await manager.commitLeftovers(s.path, 'nothing')).toBeNull();
    expect(git(s.path, 'rev-parse', 'HEAD')).toBe(sha);
  });

  it('works where no git identity is configured at all', async () => {
    const { repo, manager, goal } = await goalSetup();
    const s = await manager.spawnWorktree(repo, goal, 'anon', randomUUID());
    writeFileSync(join(s.path, 'file.txt'), 'data\n');

    // An empty HOME: no ~/.gitconfig, no XDG config. The repo has none either (test commits use -c).
    const home = await mkdtemp(join(tmp, 'home-'));
    const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
    process.env.HOME = home;
    process.env.XDG_CONFIG_HOME = join(home, '.config');
    try {
      const noIdentity = spawnSync('git', ['config', 'user.name'], { cwd: s.path, env: gitEnv(), stdio: 'ignore' });
      expect(noIdentity.status).toBe(1);
      const sha = await manager.commitLeftovers(s.path, 'leftovers');
      expect(sha).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    expect(git(s.path, 'log', '-1', '--format=%an <%ae>')).toBe('Arbor <arbor@localhost>');
    // Nothing was written into the repository's config.
    expect(readFileSync(join(repo, '.git', 'config'), 'utf8')).not.toMatch(/name|email/);
    expect(readdirSync(home)).toEqual([]);
  });

  it('refuses states it cannot commit faithfully', async () => {
    const { repo, manager, goal } = await goalSetup();
    const s = await manager.spawnWorktree(repo, goal, 'detached', randomUUID());
    git(s.path, 'checkout', '-q', '--detach');
    writeFileSync(join(s.path, 'x.txt'), 'x\n');
    await expect(manager.commitLeftovers(s.path, 'm')).rejects.toThrow(`worktree ${s.path} has a detached HEAD`);
    await expect(manager.commitLeftovers(join(tmp, 'nowhere'), 'm')).rejects.toThrow('worktree does not exist');
  });
});

describe('merge-back', () => {
  it('merges a spawned branch into the goal branch with a merge commit, touching no worktree', async () => {
    const { repo, manager, goal } = await goalSetup();
    const goalPath = await manager.goalWorktree(repo, goal.id, goal.branch);
    const s = await manager.spawnWorktree(repo, goal, 'feature', randomUUID());
    writeFileSync(join(s.path, 'feature.txt'), 'feature\n');
    const taskHead = await manager.commitLeftovers(s.path, 'feature work');
    const goalBefore = git(repo, 'rev-parse', goal.branch);

    const result = await manager.mergeTaskBranch(repo, goal.branch, s.branch, 'Merge task "feature"');
    const sha = git(repo, 'rev-parse', goal.branch);
    expect(result).toEqual({ kind: 'merged', sha, previous: goalBefore, tries: 1 });
    // --no-ff: two parents even though a fast-forward was possible.
    expect(git(repo, 'rev-list', '--parents', '-n', '1', sha).split(' ')).toEqual([sha, goalBefore, taskHead]);
    expect(git(repo, 'log', '-1', '--format=%s|%an', sha)).toBe('Merge task "feature"|Arbor');
    // The goal worktree's files stay where they were until it is brought up before its next run.
    expect(existsSync(join(goalPath, 'feature.txt'))).toBe(false);
    await manager.advanceGoalWorktree(goalPath);
    expect(readFileSync(join(goalPath, 'feature.txt'), 'utf8')).toBe('feature\n');
    expect(git(goalPath, 'status', '--porcelain')).toBe('');
  });

  it('needs no goal worktree', async () => {
    const { repo, manager, root, goal } = await goalSetup();
    const s = await manager.spawnWorktree(repo, goal, 'solo', randomUUID());
    writeFileSync(join(s.path, 'solo.txt'), 'solo\n');
    await manager.commitLeftovers(s.path, 'solo');
    const result = await manager.mergeTaskBranch(repo, goal.branch, s.branch, 'Merge solo');
    expect(result.kind).toBe('merged');
    expect(git(repo, 'show', `${goal.branch}:solo.txt`)).toBe('solo');
    expect(existsSync(join(root, goal.id.slice(0, 8), 'goal'))).toBe(false);
  });

  it('on a conflict returns the paths and changes nothing: goal branch, goal worktree and task branch intact', async () => {
    const { repo, manager, goal } = await goalSetup();
    const goalPath = await manager.goalWorktree(repo, goal.id, goal.branch);
    const s = await manager.spawnWorktree(repo, goal, 'clash', randomUUID());

    writeFileSync(join(goalPath, 'README.md'), 'goal version\n');
    writeFileSync(join(goalPath, 'notes.txt'), 'goal notes\n');
    const goalHead = commitAll(goalPath, 'goal edits');
    writeFileSync(join(s.path, 'README.md'), 'task version\n');
    writeFileSync(join(s.path, 'notes.txt'), 'task notes\n');
    writeFileSync(join(s.path, 'clean.txt'), 'no conflict here\n');
    const taskHead = await manager.commitLeftovers(s.path, 'task edits');

    const result = await manager.mergeTaskBranch(repo, goal.branch, s.branch, 'Merge clash');
    expect(result).toEqual({ kind: 'conflicts', paths: ['README.md', 'notes.txt'], head: goalHead });
    expect(git(goalPath, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(existsSync(join(goalPath, 'clean.txt'))).toBe(false);
    expect(git(repo, 'rev-parse', goal.branch)).toBe(goalHead);
    expect(git(repo, 'rev-parse', s.branch)).toBe(taskHead);

    // A non-conflicting merge goes through after it.
    const other = await manager.spawnWorktree(repo, goal, 'fine', randomUUID());
    writeFileSync(join(other.path, 'fine.txt'), 'fine\n');
    await manager.commitLeftovers(other.path, 'fine');
    expect((await manager.mergeTaskBranch(repo, goal.branch, other.branch, 'Merge fine')).kind).toBe('merged');
  });

  it('brings the goal worktree up keeping uncommitted work, and refuses (changing nothing) when that work is in the way', async () => {
    const { repo, manager, goal } = await goalSetup();
    const goalPath = await manager.goalWorktree(repo, goal.id, goal.branch);
    const merge = async (key: string, file: string) => {
      const s = await manager.spawnWorktree(repo, goal, key, randomUUID());
      writeFileSync(join(s.path, file), `${key}\n`);
      await manager.commitLeftovers(s.path, key);
      expect((await manager.mergeTaskBranch(repo, goal.branch, s.branch, `Merge ${key}`)).kind).toBe('merged');
    };
    await merge('x', 'x.txt');
    writeFileSync(join(goalPath, 'mine.txt'), 'half-done edit\n');
    await manager.advanceGoalWorktree(goalPath);
    expect(readFileSync(join(goalPath, 'x.txt'), 'utf8')).toBe('x\n');
    expect(readFileSync(join(goalPath, 'mine.txt'), 'utf8')).toBe('half-done edit\n');

    // A merge brings in a file the uncommitted work already has: refused, nothing lost.
    await merge('y', 'mine.txt');
    await expect(manager.advanceGoalWorktree(goalPath)).rejects.toThrow('could not be brought up to the goal branch without losing its uncommitted work');
    expect(readFileSync(join(goalPath, 'mine.txt'), 'utf8')).toBe('half-done edit\n');
    await expect(manager.mergeTaskBranch(repo, goal.branch, 'arbor/nope', 'm')).rejects.toThrow('branch "arbor/nope" does not exist');
  });

  it('creates a goal branch once when several instances create it at the same moment: all use it', async () => {
    const repo = await makeRepo();
    const goal = newGoal('Raced');
    // Separate managers, as separate instances: no in-process queue orders them.
    const managers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => makeManager()));
    const ensured = await Promise.all(managers.map(({ manager }) => manager.ensureGoalBranch(repo, goal)));
    const head = git(repo, 'rev-parse', 'main');
    for (const e of ensured) expect(e).toEqual({ branch: WorktreeManager.goalBranchName(goal), head });
  });
});

describe('describeBranch', () => {
  it('reports the head, the commits since base (oldest first) and a diffstat', async () => {
    const { repo, manager, goal } = await goalSetup();
    const s = await manager.spawnWorktree(repo, goal, 'describe', randomUUID());
    writeFileSync(join(s.path, 'three.txt'), 'a\nb\nc\n');
    const first = commitAll(s.path, 'add three lines');
    writeFileSync(join(s.path, 'README.md'), 'goodbye\n');
    writeFileSync(join(s.path, 'blob.bin'), Buffer.from([0, 1, 2, 0, 255]));
    const second = commitAll(s.path, 'change readme, add a binary');

    expect(await manager.describeBranch(repo, s.branch, s.baseSha)).toEqual({
      head: second,
      commits: [
        { sha: first, subject: 'add three lines' },
        { sha: second, subject: 'change readme, add a binary' },
      ],
      diffstat: { files: 3, insertions: 4, deletions: 1 },
    });

    const untouched = await manager.spawnWorktree(repo, goal, 'idle', randomUUID());
    expect(await manager.describeBranch(repo, untouched.branch, untouched.baseSha)).toEqual({
      head: untouched.baseSha,
      commits: [],
      diffstat: { files: 0, insertions: 0, deletions: 0 },
    });
    await expect(manager.describeBranch(repo, s.branch, 'f'.repeat(40))).rejects.toThrow('not found');
  });
});

describe('remove', () => {
  it('removes a worktree with uncommitted changes and keeps its branch', async () => {
    const { repo, manager, root, goal } = await goalSetup();
    const s = await manager.spawnWorktree(repo, goal, 'gone', randomUUID());
    writeFileSync(join(s.path, 'README.md'), 'dirty\n');
    writeFileSync(join(s.path, 'untracked.txt'), 'u\n');

    await manager.remove(repo, s.path);
    expect(existsSync(s.path)).toBe(false);
    expect(worktreeList(repo)).toEqual([repo]);
    expect(branchExists(repo, s.branch)).toBe(true);
    expect(readdirSync(root)).toEqual([]);

    await expect(manager.remove(repo, s.path)).resolves.toBeUndefined();
    await expect(manager.remove(repo, repo)).rejects.toThrow('is not under the Arbor worktree root');
  });

  it("never removes what is not this repository's worktree, nor one in use", async () => {
    const { repo, manager, root, goal } = await goalSetup();
    // Another repository's worktree under the same root.
    const other = await goalSetup();
    const foreign = await manager.spawnWorktree(other.repo, other.goal, 'theirs', randomUUID());
    await expect(manager.remove(repo, foreign.path)).rejects.toThrow(`${foreign.path} is not a worktree of ${repo}`);
    expect(worktreeList(other.repo)).toContain(foreign.path);
    // A plain directory under the root.
    const plain = join(root, 'plain');
    mkdirSync(plain);
    writeFileSync(join(plain, 'keep.txt'), 'keep\n');
    await expect(manager.remove(repo, plain)).rejects.toThrow(`${plain} is not a worktree of ${repo}`);
    expect(readFileSync(join(plain, 'keep.txt'), 'utf8')).toBe('keep\n');

    const busy = await manager.spawnWorktree(repo, goal, 'busy', randomUUID());
    const sleeper = spawn('sleep', ['60'], { cwd: busy.path, stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => sleeper.once('spawn', resolve).once('error', reject));
    try {
      if (process.platform === 'linux') await expect(manager.remove(repo, busy.path)).rejects.toThrow(/in use by process/);
      expect(worktreeList(repo)).toContain(busy.path);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((resolve) => sleeper.once('exit', resolve));
    }
    await manager.remove(repo, busy.path);
    expect(worktreeList(repo)).toEqual([repo]);

    // Its directory deleted behind git's back: the registration goes, and no error.
    const vanished = await manager.spawnWorktree(repo, goal, 'vanished', randomUUID());
    rmSync(vanished.path, { recursive: true });
    await manager.remove(repo, vanished.path);
    expect(worktreeList(repo)).toEqual([repo]);
  });
});

describe('deleteMergedBranch', () => {
  it('deletes a task branch merged into the goal branch, and no other', async () => {
    const { repo, manager, goal } = await goalSetup();
    const spawnCommitted = async (key: string) => {
      const s = await manager.spawnWorktree(repo, goal, key, randomUUID());
      writeFileSync(join(s.path, `${key}.txt`), `${key}\n`);
      return { ...s, head: (await manager.commitLeftovers(s.path, key))! };
    };
    const merged = await spawnCommitted('merged');
    const unmerged = await spawnCommitted('unmerged');
    const checkedOut = await spawnCommitted('checked-out');
    for (const s of [merged, checkedOut]) expect((await manager.mergeTaskBranch(repo, goal.branch, s.branch, `merge ${s.branch}`)).kind).toBe('merged');
    for (const s of [merged, unmerged]) await manager.remove(repo, s.path);

    expect(await manager.deleteMergedBranch(repo, unmerged.branch, unmerged.head, goal.branch)).toBe(false);
    expect(await manager.deleteMergedBranch(repo, checkedOut.branch, checkedOut.head, goal.branch)).toBe(false);
    expect(await manager.deleteMergedBranch(repo, merged.branch, merged.head, 'arbor/no-such-goal')).toBe(false);
    // Moved since it was merged (someone else's commit on it): kept.
    expect(await manager.deleteMergedBranch(repo, merged.branch, unmerged.head, goal.branch)).toBe(false);
    for (const s of [merged, unmerged, checkedOut]) expect(branchExists(repo, s.branch)).toBe(true);

    expect(await manager.deleteMergedBranch(repo, merged.branch, merged.head, goal.branch)).toBe(true);
    expect(branchExists(repo, merged.branch)).toBe(false);
    expect(await manager.deleteMergedBranch(repo, merged.branch, merged.head, goal.branch)).toBe(false);
  });
});

describe('following a remote (in a mirror)', () => {
  /** What a fetch does in a mirror: the remote's branch as `refs/remotes/origin/<branch>`. */
  const fetched = (repo: string, branch: string, sha: string) => git(repo, 'update-ref', `refs/remotes/origin/${branch}`, sha);

  it('a spawned task carries on from its branch as an earlier attempt pushed it, and says which tip a push replaces', async () => {
    const { repo, manager, goal } = await goalSetup();
    const first = await manager.spawnWorktree(repo, goal, 'api', randomUUID(), { followRemote: true });
    expect(first).toMatchObject({ continued: false, remoteTip: null });
    writeFileSync(join(first.path, 'api.txt'), 'attempt 1\n');
    const pushed = (await manager.commitLeftovers(first.path, 'attempt 1'))!;
    await manager.remove(repo, first.path);
    // Pushed from another instance: this mirror's own branch is gone, its remote's copy fetched.
    git(repo, 'branch', '-D', first.branch);
    fetched(repo, first.branch, pushed);

    const second = await manager.spawnWorktree(repo, goal, 'api', randomUUID(), { followRemote: true });
    expect(second).toMatchObject({ branch: first.branch, continued: true, remoteTip: pushed });
    expect(git(second.path, 'rev-parse', 'HEAD')).toBe(pushed);
    await manager.remove(repo, second.path);

    // Without followRemote (a local repository), a remote's copy is none of its business.
    git(repo, 'branch', '-D', first.branch);
    const local = await manager.spawnWorktree(repo, goal, 'api', randomUUID());
    expect(local).toMatchObject({ continued: false, remoteTip: null });
    expect(git(local.path, 'rev-parse', 'HEAD')).toBe(git(repo, 'rev-parse', goal.branch));
  });

  it('the goal branch follows the remote when behind, keeps commits of its own, and follows a merge in one step', async () => {
    const { repo, manager, goal } = await goalSetup();
    const start = git(repo, 'rev-parse', goal.branch);
    expect(await manager.followTracked(repo, goal.branch)).toEqual({ tracked: null, local: start });
    const ahead = await commitOnBranch(repo, 'elsewhere', { 'x.txt': 'x\n' }, goal.branch);
    fetched(repo, goal.branch, ahead);
    expect(await manager.followTracked(repo, goal.branch)).toEqual({ tracked: ahead, local: ahead });
    expect(git(repo, 'rev-parse', goal.branch)).toBe(ahead);

    // A branch with a commit of its own is left as it is.
    const own = await commitOnBranch(repo, goal.branch, { 'own.txt': 'own\n' });
    const theirs = await commitOnBranch(repo, 'theirs', { 'theirs.txt': 'theirs\n' }, ahead);
    fetched(repo, goal.branch, theirs);
    expect(await manager.followTracked(repo, goal.branch)).toEqual({ tracked: theirs, local: own });
    // Told the merge's first parent, which the branch is not at: asked the long way, and left.
    expect(await manager.followBranch(repo, goal.branch, theirs, ahead)).toBe(own);
    expect(git(repo, 'rev-parse', goal.branch)).toBe(own);
    const next = await commitOnBranch(repo, 'next', { 'next.txt': 'next\n' }, own);
    expect(await manager.followBranch(repo, goal.branch, next, own)).toBe(next);
    expect(git(repo, 'rev-parse', goal.branch)).toBe(next);
  });
});

describe('headAndGitDirs', () => {
  it("gives a worktree's HEAD commit and the git dirs an agent needs to commit", async () => {
    const { repo, manager, goal } = await goalSetup();
    const s = await manager.spawnWorktree(repo, goal, 'dirs', randomUUID());
    const { head, gitDirs } = await manager.headAndGitDirs(s.path);
    expect(head).toBe(git(repo, 'rev-parse', goal.branch));
    expect(gitDirs).toEqual([git(s.path, 'rev-parse', '--absolute-git-dir'), join(repo, '.git')]);
    expect(await manager.headAndGitDirs(repo)).toEqual({ head: git(repo, 'rev-parse', 'HEAD'), gitDirs: [join(repo, '.git')] });

    // No commit yet: no head, the dirs all the same.
    const empty = await mkdtemp(join(tmp, 'empty-'));
    git(empty, 'init', '-q');
    expect(await manager.headAndGitDirs(empty)).toEqual({ head: null, gitDirs: [join(empty, '.git')] });
    await expect(manager.headAndGitDirs(await mkdtemp(join(tmp, 'plain-')))).rejects.toThrow();
  });
});

describe('discard', () => {
  it("deletes a goal's worktree whose repository is gone, never one in use or outside the root", async () => {
    const { repo, manager, root, goal } = await goalSetup();
    const goalPath = await manager.goalWorktree(repo, goal.id, goal.branch);
    expect(await manager.isWorktreeOf(repo, goalPath)).toBe(true);

    // Re-cloned in its place: a repository again, but not the one that has this worktree.
    const original = `${repo}-original`;
    execFileSync('mv', [repo, original]);
    execFileSync('git', ['clone', '-q', original, repo], { env: gitEnv() });
    expect(await manager.isWorktreeOf(repo, goalPath)).toBe(false);
    // Deleted: no repository at all.
    rmSync(repo, { recursive: true, force: true });
    rmSync(original, { recursive: true, force: true });
    expect(await manager.isWorktreeOf(repo, goalPath)).toBe(false);

    const sleeper = spawn('sleep', ['60'], { cwd: goalPath, stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => sleeper.once('spawn', resolve).once('error', reject));
    try {
      if (process.platform === 'linux') await expect(manager.discard(goalPath)).rejects.toThrow(/in use by process/);
    } finally {
      sleeper.kill('SIGKILL');
    }
    await new Promise((resolve) => sleeper.once('exit', resolve));
    await manager.discard(goalPath);
    expect(existsSync(goalPath)).toBe(false);
    expect(readdirSync(root)).toEqual([]);
    await expect(manager.discard(goalPath)).resolves.toBeUndefined();
    await expect(manager.discard(tmp)).rejects.toThrow('is not under the Arbor worktree root');
  });
});

describe('prune', () => {
  it('removes unknown worktrees under root, keeps the kept, the foreign and the busy ones, and leaves git consistent', async () => {
    const { repo, manager, root, goal } = await goalSetup();
    const goalPath = await manager.goalWorktree(repo, goal.id, goal.branch);
    const kept = await manager.spawnWorktree(repo, goal, 'kept', randomUUID());
    const busy = await manager.spawnWorktree(repo, goal, 'busy', randomUUID());
    const stale = await manager.spawnWorktree(repo, goal, 'stale', randomUUID());
    const vanished = await manager.spawnWorktree(repo, goal, 'vanished', randomUUID());
    writeFileSync(join(stale.path, 'uncommitted.txt'), 'lost on purpose\n');
    // A directory deleted behind git's back: git still lists it until pruned.
    rmSync(vanished.path, { recursive: true });
    // A worktree outside the root belongs to someone else.
    const outside = join(await mkdtemp(join(tmp, 'outside-')), 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'someone-else', outside);

    // A live process working in a worktree Arbor has forgotten (e.g. from before a restart).
    const sleeper = spawn('sleep', ['60'], { cwd: busy.path, stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => sleeper.once('spawn', resolve).once('error', reject));
    const linux = process.platform === 'linux';
    try {
      const removed = await manager.prune(repo, new Set([goalPath, kept.path]));
      expect(removed.sort()).toEqual((linux ? [stale.path] : [stale.path, busy.path]).sort());
      expect(existsSync(stale.path)).toBe(false);
      expect(existsSync(busy.path)).toBe(linux);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((resolve) => sleeper.once('exit', resolve));
    }

    expect(new Set(worktreeList(repo))).toEqual(new Set([repo, goalPath, kept.path, outside, ...(linux ? [busy.path] : [])]));
    // git's list matches the disk: nothing left for git to prune.
    expect(git(repo, 'worktree', 'prune', '--dry-run', '--verbose')).toBe('');
    for (const s of [kept, busy, stale, vanished]) expect(branchExists(repo, s.branch)).toBe(true);

    // Once the process is gone, the next prune takes it.
    expect(await manager.prune(repo, new Set([goalPath, kept.path]))).toEqual(linux ? [busy.path] : []);
    expect(new Set(worktreeList(repo))).toEqual(new Set([repo, goalPath, kept.path, outside]));
    expect(readdirSync(join(root, goal.id.slice(0, 8))).sort()).toEqual(['goal', basename(kept.path)].sort());
  });
});
