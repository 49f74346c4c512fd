import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, readlink, realpath, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { assertReachableBy, type AgentUser } from './agent-user.js';
import {
  advanceCheckout,
  BranchMergeError,
  localBranchTip,
  mergeIntoBranch,
  UnknownTaskError,
  type BranchTip,
  type MergeOptions,
  type MergeOutcome,
} from './branch-merge.js';
import { REMOTE } from './repo-mirror.js';
import { ARBOR_IDENTITY, createGit, GitCommandError, gitMessage, OBJECT_ID, type Git, type WorktreeEntry } from './git-command.js';
import { KeyedQueue } from './git-repo-queue.js';
import type { CommandRunner } from './spawner/command-spawner.js';

/**
 * Worktrees and branches for agent sessions.
 *
 * Layout under the Arbor-owned root:
 *   <root>/<goal id first 8>/goal                      the goal's worktree, on the goal branch
 *   <root>/<goal id first 8>/<task key>-<session first 8>   one per spawned session
 *
 * Branches: `arbor/<title slug>-<goal8>` for a goal, `<goal branch>--<task key>` for a
 * spawned task (one across its attempts, deleted once merged). The `--` keeps task
 * branches siblings of the goal branch: git stores refs as files, so `a/b` and
 * `a/b/c` cannot both exist.
 */

/** A failure the user can act on (bad repository, unknown ref, unexpected state); the message says what. */
export class WorktreeError extends Error {
  override name = 'WorktreeError';
}

export interface WorktreeManagerOptions {
  /** Absolute path of a directory Arbor owns; created on first use. */
  root: string;
  /**
   * The environment git runs with (e.g. config.sessions.baseEnv); git must be on its PATH.
   * Its GIT_* variables are dropped: they must never redirect Arbor's commands.
   */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * The user agents run as, when not Arbor's own: git runs as that user (see
   * createGit), so worktrees are theirs; the root must be reachable by it.
   */
  agentUser?: AgentUser | null;
  /** Where git is started from (the server's SpawnerProcess); this process by default. */
  spawner?: CommandRunner;
}

/** A repository as the manager uses it. */
interface Repo {
  /** The path as given, for messages. */
  display: string;
  /** Real path of its top level: where repository-wide git commands run. */
  path: string;
  /** Real path of the common git dir, shared by all its worktrees: the serialization key. */
  key: string;
  git: Git;
}

type Diffstat = { files: number; insertions: number; deletions: number };

/** Where a spawned session works. */
export interface SpawnedWorktree {
  path: string;
  branch: string;
  /** Where the branch's own work begins: the goal head it starts from or was last brought up to. */
  baseSha: string;
  /** An earlier attempt's commits are on the branch, and this attempt carries on from them. */
  continued: boolean;
  /** Paths left conflicted by bringing the goal's newer work into the branch, for the agent to resolve. */
  conflicts: string[];
  /**
   * With `followRemote`: the remote's tip of the branch as last fetched, which
   * the branch was brought up to (a push of its work replaces that tip); null
   * when the remote has none, or without `followRemote`.
   */
  remoteTip: string | null;
}

const GOAL_WORKTREE_DIR = 'goal';
const ZERO_OID = '0000000000000000000000000000000000000000';
/** Per-worktree ref: the commit the goal worktree's files were last brought to (its branch may have moved on since). */
const CHECKOUT_REF = 'refs/worktree/arbor-checkout';
/** Merges Arbor makes are reproducible: no replayed resolutions, no stashing. */
const MERGE_CONFIG: readonly string[] = [...ARBOR_IDENTITY, 'rerere.enabled=false', 'merge.autoStash=false'];

export class WorktreeManager {
  private readonly queue = new KeyedQueue();
  private readonly root: string;
  private readonly git: Git;
  private readonly agentUser: AgentUser | null;
  private rootReal: Promise<string> | null = null;
  /**
   * Common git dir per repository top level (real paths) that openRepo has vetted. A repository's
   * top level does not change while Arbor runs; one that disappears fails its next git command.
   */
  private readonly repoKeys = new Map<string, string>();

  constructor(options: WorktreeManagerOptions) {
    if (!path.isAbsolute(options.root)) throw new Error(`worktree root must be an absolute path: ${options.root}`);
    this.root = path.resolve(options.root);
    this.agentUser = options.agentUser ?? null;
    this.git = createGit(options.env, { user: this.agentUser, spawner: options.spawner });
  }

  /** arbor/<slug of title: lowercase a-z0-9 and '-', at most 40 chars, no leading/trailing '-'>-<first 8 chars of id> */
  static goalBranchName(goal: { id: string; title: string }): string {
    const slug = goal.title
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '') // "café" → "cafe" rather than "caf-"
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+/, '')
      .slice(0, 40)
      .replace(/-+$/, '');
    return `arbor/${slug || 'goal'}-${goal.id.slice(0, 8)}`;
  }

  /** Ensures the goal branch exists (created at base_ref's commit if missing; base_ref may be a branch, tag, sha or HEAD). */
  ensureGoalBranch(
    repo: string,
    goal: { id: string; title: string; baseRef: string; branch: string | null },
  ): Promise<{ branch: string; head: string }> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      const branch = goal.branch ?? WorktreeManager.goalBranchName(goal);
      await checkBranchName(r, branch);
      return this.queue.run(r.key, async () => {
        const existing = await r.git.resolveCommit(r.path, `refs/heads/${branch}`);
        if (existing !== null) return { branch, head: existing };
        const base = await resolveBaseRef(r, goal.baseRef);
        // Create-if-absent (the zero id as the old value): another instance may create it at the
        // same moment; losing that race is fine, the winner's branch is the goal's.
        const created = await r.git.run(r.path, ['update-ref', '-m', 'arbor: goal branch', `refs/heads/${branch}`, base, ZERO_OID]);
        if (created.code === 0) return { branch, head: base };
        const winner = await r.git.resolveCommit(r.path, `refs/heads/${branch}`);
        if (winner === null) throw new WorktreeError(`could not create branch "${branch}" in ${r.display}: ${gitMessage(created)}`);
        return { branch, head: winner };
      });
    });
  }

  /**
   * Runs `work` while no other git work of this manager runs in `repo`: a
   * fetch checks every ref, worktree HEADs included, and would trip over a
   * worktree being made or removed.
   */
  exclusive<T>(repo: string, work: () => Promise<T>): Promise<T> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      return this.queue.run(r.key, work);
    });
  }

  /** The commit base_ref names in `repo` (in a mirror, also the remote's branch of that name). */
  baseCommit(repo: string, baseRef: string): Promise<string> {
    return userFacing(async () => resolveBaseRef(await this.openRepo(repo), baseRef));
  }

  /** The commit `branch` points at. */
  branchHead(repo: string, branch: string): Promise<string> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      const head = await r.git.resolveCommit(r.path, `refs/heads/${branch}`);
      if (head === null) throw new WorktreeError(`branch "${branch}" does not exist in ${r.display}`);
      return head;
    });
  }

  /**
   * Moves the local `branch` up to `tip` (the remote's, just fetched) when
   * it is missing or behind it; a branch with commits of its own is left as
   * it is. Returns where the branch is now. `tipParent`, a commit `tip` is
   * known to descend from (the first parent of a merge just made): a branch
   * still there is moved with no question to git about their ancestry.
   */
  followBranch(repo: string, branch: string, tip: string, tipParent?: string): Promise<string> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      await checkBranchName(r, branch);
      return this.queue.run(r.key, async () => {
        const ref = `refs/heads/${branch}`;
        if (tipParent !== undefined && (await r.git.run(r.path, ['update-ref', '-m', 'arbor: follow the remote', ref, tip, tipParent])).code === 0) return tip;
        const local = await r.git.resolveCommit(r.path, ref);
        return moveUpTo(r, ref, local, tip);
      });
    });
  }

  /**
   * followBranch to the remote's tip as last fetched into this mirror
   * (`refs/remotes/origin/<branch>`), both read in one git command. Returns
   * that tip (null when the remote has no such branch) and where the local
   * branch is now.
   */
  followTracked(repo: string, branch: string): Promise<{ tracked: null; local: string | null } | { tracked: string; local: string }> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      await checkBranchName(r, branch);
      return this.queue.run(r.key, async () => {
        const ref = `refs/heads/${branch}`;
        const trackingRef = `refs/remotes/${REMOTE}/${branch}`;
        const commits = await refCommits(r, [ref, trackingRef]);
        let local = commits.get(ref) ?? null;
        let tracked = commits.get(trackingRef) ?? null;
        // A ref that is not a commit (a tag object, say) is read as followBranch and trackedTip read it.
        if (local === '' || tracked === '') [local = null, tracked = null] = await r.git.resolveCommits(r.path, [ref, trackingRef]);
        if (tracked === null) return { tracked, local };
        return { tracked, local: await moveUpTo(r, ref, local, tracked) };
      });
    });
  }

  /** The goal's own worktree on its branch: <root>/<goal id first 8>/goal; created if absent, reused if present. */
  goalWorktree(repo: string, goalId: string, branch: string): Promise<string> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      await checkBranchName(r, branch);
      const root = await this.realRoot();
      return this.queue.run(r.key, () => this.goalWorktreeLocked(r, root, goalId, branch));
    });
  }

  /**
   * The goals' own worktrees present under the root, by the goal id prefix
   * their directory is named for. A read of the disk, not of git: what is
   * there is what needs cleaning when its goal ends, whoever ran it last.
   */
  async goalWorktreesOnDisk(): Promise<{ goalPrefix: string; path: string }[]> {
    const root = await this.realRoot();
    const found: { goalPrefix: string; path: string }[] = [];
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !/^[0-9a-f]{8}$/.test(entry.name)) continue;
      const target = path.join(root, entry.name, GOAL_WORKTREE_DIR);
      if (existsSync(target)) found.push({ goalPrefix: entry.name, path: target });
    }
    return found;
  }

  /**
   * The task's branch `<goalBranch>--<taskKey>` in a new worktree at
   * <root>/<goal8>/<taskKey>-<session8>. One branch per task across attempts:
   * a later attempt carries on from what an interrupted or failed one
   * committed there, with the goal branch's newer work merged in. A branch
   * already merged into the goal branch (nothing of its own left) starts again
   * from the goal branch's head, as a first attempt does.
   *
   * `followRemote` (in a mirror): the branch is first brought up to the
   * remote's as last fetched, which holds what an earlier attempt on any
   * instance pushed.
   */
  spawnWorktree(
    repo: string,
    goal: { id: string; branch: string },
    taskKey: string,
    sessionId: string,
    options: { followRemote?: boolean } = {},
  ): Promise<SpawnedWorktree> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      const goal8 = pathSegment(goal.id.slice(0, 8), 'goal id');
      const key = pathSegment(taskKey, 'task key');
      const session8 = pathSegment(sessionId.slice(0, 8), 'session id');
      await checkBranchName(r, goal.branch);
      const branch = WorktreeManager.taskBranchName(goal.branch, key);
      const root = await this.realRoot();
      const target = path.join(root, goal8, `${key}-${session8}`);

      return this.queue.run(r.key, async () => {
        const goalRef = `refs/heads/${goal.branch}`;
        const taskRef = `refs/heads/${branch}`;
        const trackingRef = `refs/remotes/${REMOTE}/${branch}`;
        const heads = await refCommits(r, [goalRef, taskRef, ...(options.followRemote ? [trackingRef] : [])]);
        const goalHead = heads.get(goalRef);
        if (!goalHead) throw new WorktreeError(`goal branch "${goal.branch}" does not exist in ${r.display}`);
        let taskHead = heads.get(taskRef);
        let remoteTip = options.followRemote ? (heads.get(trackingRef) ?? null) : null;
        // Not a commit (a tag object, say): read as trackedTip reads it.
        if (remoteTip === '') remoteTip = await r.git.resolveCommit(r.path, trackingRef);
        if (remoteTip !== null && taskHead !== '') taskHead = await moveUpTo(r, taskRef, taskHead ?? null, remoteTip);
        return { ...(await this.placeTaskBranch(r, root, target, goal.branch, branch, goalHead, taskHead)), remoteTip };
      });
    });
  }

  /** spawnWorktree's worktree for `branch` (at `taskHead`; undefined: none yet), in the repository's queue. */
  private async placeTaskBranch(
    r: Repo,
    root: string,
    target: string,
    goalBranch: string,
    branch: string,
    goalHead: string,
    taskHead: string | undefined,
  ): Promise<Omit<SpawnedWorktree, 'remoteTip'>> {
    if (taskHead === undefined) {
      // A worktree already registered at target makes `worktree add` fail; addWorktree says so.
      await this.addWorktree(r, root, target, ['-b', branch, target, goalHead], branch);
      return { path: target, branch, baseSha: goalHead, continued: false, conflicts: [] };
    }
    if (taskHead === '') throw new WorktreeError(`"${branch}" in ${r.display} does not point at a commit`);
    const holder = (await this.worktreesOf(r)).find((w) => w.branch === `refs/heads/${branch}`);
    if (holder) throw new WorktreeError(`branch "${branch}" is still checked out at ${holder.path}`);
    if (await isAncestor(r, taskHead, goalHead)) {
      // Merged already: move it to the goal's head, unless someone moved it meanwhile.
      await r.git.output(r.path, ['update-ref', `refs/heads/${branch}`, goalHead, taskHead]);
      await this.addWorktree(r, root, target, [target, branch], null);
      return { path: target, branch, baseSha: goalHead, continued: false, conflicts: [] };
    }
    await this.addWorktree(r, root, target, [target, branch], null);
    if (await isAncestor(r, goalHead, taskHead)) return { path: target, branch, baseSha: goalHead, continued: true, conflicts: [] };
    // The goal moved on since: bring it in, as a person would before carrying on. A
    // conflict is left in the worktree for the agent to resolve (its prompt says so);
    // work it leaves unresolved holds the task as blocked rather than being committed.
    const merged = await r.git.run(target, ['merge', '--no-ff', '--no-verify', '-m', `arbor: bring ${goalBranch} into ${branch}`, goalHead], {
      config: MERGE_CONFIG,
    });
    if (merged.code === 0) return { path: target, branch, baseSha: goalHead, continued: true, conflicts: [] };
    const conflicts = await r.git.unmergedPaths(target);
    if (conflicts.length === 0) {
      await r.git.run(target, ['merge', '--abort']);
      throw new WorktreeError(`could not bring "${goalBranch}" into "${branch}": ${gitMessage(merged)}`);
    }
    return { path: target, branch, baseSha: goalHead, continued: true, conflicts };
  }

  /** `<goal branch>--<task key>`: `--` keeps task branches siblings of the goal branch (refs are files: `a/b` and `a/b/c` cannot both exist). */
  static taskBranchName(goalBranch: string, taskKey: string): string {
    // A task key may hold "..", which a ref name may not; one dot keeps the name readable.
    const branch = `${goalBranch}--${taskKey.replace(/\.{2,}/g, '.')}`;
    // A valid branch name followed by "--" and a path segment is a valid one unless it
    // holds ".." or ends in "." or ".lock"; so git need not be asked again.
    if (branch.includes('..') || branch.endsWith('.') || branch.endsWith('.lock')) {
      throw new WorktreeError(`"${branch}" is not a valid branch name`);
    }
    return branch;
  }

  /**
   * Deletes a task branch whose every commit is in `into` (it was merged);
   * a branch with anything unmerged, or one that moved since `expectedHead`,
   * is kept. Returns whether it was deleted.
   */
  deleteMergedBranch(repo: string, branch: string, expectedHead: string, into: string): Promise<boolean> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      await checkBranchName(r, branch);
      await checkBranchName(r, into);
      return this.queue.run(r.key, async () => {
        const ref = `refs/heads/${branch}`;
        const intoRef = `refs/heads/${into}`;
        // Listed only when its tip is in `into`'s history: the head and the ancestry in one git command.
        const args = ['for-each-ref', `--merged=${intoRef}`, '--format=%(refname)%00%(objectname)', ref];
        const merged = await r.git.run(r.path, args);
        if (merged.code !== 0) {
          // `into` is not a branch at a commit (then nothing is merged into it), or git failed.
          if (!(await refCommits(r, [intoRef])).get(intoRef)) return false;
          throw new GitCommandError(args, r.path, merged);
        }
        const head = merged.stdout
          .split('\n')
          .map((line) => line.split('\0'))
          .find(([name]) => name === ref)?.[1];
        if (head !== expectedHead) return false;
        if ((await this.worktreesOf(r)).some((w) => w.branch === ref)) return false;
        // Compare-and-delete: only if it still points where we checked.
        return (await r.git.run(r.path, ['update-ref', '-d', ref, head])).code === 0;
      });
    });
  }

  /**
   * The commit the worktree's HEAD is at (null if it has none), and its
   * own git dir and the repository's common one (objects, refs), absolute:
   * an agent sandboxed to its worktree needs both writable to commit. One
   * path when they are the same (a main worktree).
   */
  async headAndGitDirs(worktree: string): Promise<{ head: string | null; gitDirs: string[] }> {
    const dirArgs = ['rev-parse', '--path-format=absolute', '--git-dir', '--git-common-dir'];
    const args = [...dirArgs, '--verify', '--quiet', 'HEAD^{commit}'];
    const both = await this.git.run(worktree, args);
    const [gitDir = '', commonDir = '', head = ''] = both.stdout.split('\n');
    if (both.code === 0 && OBJECT_ID.test(head)) return { head, gitDirs: [...new Set([gitDir, commonDir])] };
    // Exit 1 with --quiet: no HEAD commit (as resolveCommit reads it); the dirs are asked alone.
    if (both.code !== 1) throw new GitCommandError(args, worktree, both);
    const dirs = (await this.git.output(worktree, dirArgs)).split('\n').filter((line) => line !== '');
    return { head: null, gitDirs: [...new Set(dirs)] };
  }

  /**
   * Commits all uncommitted work (tracked changes and untracked files, .gitignore respected);
   * returns the new sha, or null if clean. The commit is Arbor's (see ARBOR_IDENTITY), and
   * hooks are skipped: it is a snapshot of what the agent left, not a change to vet.
   */
  commitLeftovers(worktree: string, message: string): Promise<string | null> {
    return userFacing(async () => {
      const git = this.git;
      const { dir, key } = await openWorktree(git, worktree);
      return this.queue.run(key, async () => {
        if (await git.isClean(dir, { untracked: true })) return null;
        await assertCommittable(git, dir, worktree);
        await git.output(dir, ['add', '--all']);
        const staged = await git.run(dir, ['diff', '--cached', '--quiet']);
        // Changes git does not stage (e.g. only untracked content inside a submodule) leave nothing to commit;
        // a resolved merge with no changes still needs its commit.
        if (staged.code === 0 && !(await git.pathExists(dir, 'MERGE_HEAD'))) return null;
        await git.output(dir, ['commit', '--no-verify', '--quiet', '-m', message], { config: ARBOR_IDENTITY });
        return (await git.output(dir, ['rev-parse', 'HEAD'])).trim();
      });
    });
  }

  /**
   * Merges `branch` into the goal branch as git objects (no worktree is
   * touched), published by compare-and-swap on the goal branch's tip: see
   * branch-merge. A conflict changes nothing and names the paths.
   */
  mergeTaskBranch(
    repo: string,
    goalBranch: string,
    branch: string,
    message: string,
    options: Pick<MergeOptions, 'beforePublish'> & { tip?: BranchTip } = {},
  ): Promise<MergeOutcome> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      await checkBranchName(r, goalBranch);
      await checkBranchName(r, branch);
      try {
        const { tip, ...merge } = options;
        return await mergeIntoBranch(r.git, tip ?? localBranchTip(r.git, r.path, goalBranch), { ...merge, task: `refs/heads/${branch}`, message });
      } catch (err) {
        if (err instanceof UnknownTaskError) throw new WorktreeError(`branch "${branch}" does not exist in ${r.display}`, { cause: err });
        if (err instanceof BranchMergeError) throw new WorktreeError(err.message, { cause: err });
        throw err;
      }
    });
  }

  /**
   * Brings the goal's worktree up to its branch before a pinned task runs in
   * it: merges made without a worktree moved the branch under the checkout,
   * whose files are still at the commit recorded when the last run ended.
   * Uncommitted work is kept; when it is in the way nothing is changed and
   * the reason is thrown.
   */
  advanceGoalWorktree(worktree: string): Promise<void> {
    return userFacing(async () => {
      const git = this.git;
      const { dir, key } = await openWorktree(git, worktree);
      await this.queue.run(key, async () => {
        const [head, checkedOut] = await git.resolveCommits(dir, ['HEAD', CHECKOUT_REF]);
        if (!head) throw new WorktreeError(`goal worktree ${worktree} has no HEAD commit`);
        // Already recorded there: nothing to bring up, nothing to record.
        if (checkedOut === head) return;
        if (checkedOut) {
          const advanced = await advanceCheckout(git, dir, checkedOut, head);
          if (advanced.kind === 'refused') {
            throw new WorktreeError(`goal worktree ${worktree} could not be brought up to the goal branch without losing its uncommitted work: ${advanced.reason}`);
          }
        }
        await git.output(dir, ['update-ref', CHECKOUT_REF, head]);
      });
    });
  }

  /** Records the commit the goal worktree's files are at now (after a run; see advanceGoalWorktree). */
  markGoalCheckout(worktree: string): Promise<void> {
    return userFacing(async () => {
      const { dir } = await openWorktree(this.git, worktree);
      await this.git.output(dir, ['update-ref', CHECKOUT_REF, 'HEAD']);
    });
  }

  /** head sha of branch, the commits on it that are not in baseSha (oldest first), and a diffstat against baseSha. */
  describeBranch(
    repo: string,
    branch: string,
    baseSha: string,
  ): Promise<{ head: string; commits: { sha: string; subject: string }[]; diffstat: Diffstat }> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      if (baseSha.startsWith('-')) throw new WorktreeError(`base commit "${baseSha}" not found in ${r.display}`);
      const [head, base] = await r.git.resolveCommits(r.path, [`refs/heads/${branch}`, baseSha]);
      if (!head) throw new WorktreeError(`branch "${branch}" does not exist in ${r.display}`);
      if (!base) throw new WorktreeError(`base commit "${baseSha}" not found in ${r.display}`);

      // Read-only, so not queued. showSignature off: it would mix gpg output into the log.
      const log = await r.git.output(r.path, ['log', '--reverse', '--no-color', '--format=%H%x00%s', `${base}..${head}`], {
        config: ['log.showSignature=false'],
      });
      const commits = log
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const [sha = '', subject = ''] = line.split('\0');
          return { sha, subject };
        });
      // --numstat rather than --shortstat: its summary line is translated in non-English locales.
      const numstat = await r.git.output(r.path, ['diff', '--numstat', '--no-ext-diff', '--no-color', base, head]);
      const diffstat: Diffstat = { files: 0, insertions: 0, deletions: 0 };
      for (const line of numstat.split('\n')) {
        if (line === '') continue;
        const [added = '-', deleted = '-'] = line.split('\t');
        diffstat.files += 1;
        // Binary files show "-": they count as changed files with no lines.
        if (added !== '-') diffstat.insertions += Number(added);
        if (deleted !== '-') diffstat.deletions += Number(deleted);
      }
      return { head, commits, diffstat };
    });
  }

  /** Removes a worktree (even with changes), keeps its branch; no error if already gone. */
  remove(repo: string, worktreePath: string): Promise<void> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      const root = await this.realRoot();
      const target = await canonical(worktreePath);
      if (!isUnder(root, target)) throw new WorktreeError(`${worktreePath} is not under the Arbor worktree root ${root}`);
      await this.queue.run(r.key, async () => {
        const present = existsSync(target);
        if (present) {
          const pid = (await processesUsing([target])).get(target);
          if (pid !== undefined) throw new WorktreeError(`worktree ${worktreePath} is in use by process ${pid}; not removing it`);
          // git removes only a linked worktree of this repository; anything else it refuses, and is looked at below.
          if (await gitRemoveWorktree(r, target)) {
            await removeEmptyParent(root, target);
            return;
          }
        }
        const entry = (await this.worktreesOf(r)).slice(1).find((w) => w.path === target);
        if (!entry) {
          if (present) throw new WorktreeError(`${worktreePath} is not a worktree of ${r.display}`);
          return;
        }
        // Refused though it is one (e.g. with submodules). The directory is Arbor's; delete it and let prune drop the registration.
        await rm(target, { recursive: true, force: true });
        await r.git.output(r.path, ['worktree', 'prune']);
        await removeEmptyParent(root, target);
      });
    });
  }

  /** Whether `worktreePath` is one of `repo`'s worktrees; false when `repo` is not (or no longer) a repository. */
  async isWorktreeOf(repo: string, worktreePath: string): Promise<boolean> {
    let r: Repo;
    try {
      r = await this.openRepo(repo);
    } catch (err) {
      if (err instanceof WorktreeError) return false;
      throw err;
    }
    const target = await canonical(worktreePath);
    return this.queue.run(r.key, async () => (await this.worktreesOf(r)).slice(1).some((w) => w.path === target));
  }

  /**
   * Deletes a worktree directory under the root whose repository cannot take
   * it back: the repository was deleted, or replaced by one that never had
   * this worktree. Nothing is left for git to clean up there, so the
   * directory goes as it is; never one a process still uses.
   */
  discard(worktreePath: string): Promise<void> {
    return userFacing(async () => {
      const root = await this.realRoot();
      if (!existsSync(worktreePath)) return;
      const target = await canonical(worktreePath);
      if (!isUnder(root, target)) throw new WorktreeError(`${worktreePath} is not under the Arbor worktree root ${root}`);
      const pid = (await processesUsing([target])).get(target);
      if (pid !== undefined) throw new WorktreeError(`worktree ${worktreePath} is in use by process ${pid}; not removing it`);
      await rm(target, { recursive: true, force: true });
      await removeEmptyParent(root, target);
    });
  }

  /** Removes worktrees of `repo` that live under root and are not in `keep` (absolute paths), then `git worktree prune`. Never touches paths in `keep` or outside root. Returns the removed paths. */
  prune(repo: string, keep: ReadonlySet<string>): Promise<string[]> {
    return userFacing(async () => {
      const r = await this.openRepo(repo);
      const root = await this.realRoot();
      const kept = new Set(await Promise.all([...keep].map((p) => canonical(p))));
      return this.queue.run(r.key, async () => {
        // Not worktreesOf(): that would prune registrations before we look. Entry 0 is the main worktree.
        const entries = (await r.git.listWorktrees(r.path)).slice(1);
        const candidates: string[] = [];
        for (const entry of entries) {
          const p = await canonical(entry.path);
          // Locked worktrees were locked by someone on purpose; missing ones are for `worktree prune`.
          if (!isUnder(root, p) || kept.has(p) || entry.locked || !existsSync(p)) continue;
          candidates.push(p);
        }
        // Arbor may have restarted while an agent from before lives on: its worktree stays.
        const inUse = await processesUsing(candidates);
        const removed: string[] = [];
        for (const p of candidates) {
          if (inUse.has(p)) continue;
          await removeWorktree(r, p);
          await removeEmptyParent(root, p);
          removed.push(p);
        }
        await r.git.output(r.path, ['worktree', 'prune']);
        return removed;
      });
    });
  }

  // ---- internals; the *Locked methods run inside the repository's queue ----

  private async goalWorktreeLocked(r: Repo, root: string, goalId: string, branch: string): Promise<string> {
    const target = path.join(root, pathSegment(goalId.slice(0, 8), 'goal id'), GOAL_WORKTREE_DIR);
    const ref = `refs/heads/${branch}`;
    const worktrees = await this.worktreesOf(r);
    const existing = worktrees.find((w) => w.path === target);
    // On the branch at a commit: the branch exists, no need to ask git.
    if (existing?.branch === ref && existing.head !== null && !/^0+$/.test(existing.head)) return target;
    if ((await r.git.resolveCommit(r.path, ref)) === null) throw new WorktreeError(`branch "${branch}" does not exist in ${r.display}`);
    if (existing) {
      if (existing.branch !== ref) {
        const on = existing.branch ? `branch "${existing.branch.replace(/^refs\/heads\//, '')}"` : 'a detached HEAD';
        throw new WorktreeError(`goal worktree ${target} is on ${on}, not on "${branch}"`);
      }
      return target;
    }
    // The branch may be checked out elsewhere too (another instance's goal worktree on this host):
    // harmless, merges move it without a worktree and each checkout is brought up before a run.
    const elsewhere = worktrees.some((w) => w.branch === ref);
    await this.addWorktree(r, root, target, [...(elsewhere ? ['--force'] : []), target, branch], null);
    await r.git.output(target, ['update-ref', CHECKOUT_REF, 'HEAD']);
    return target;
  }

  /** Worktrees of the repository with canonical paths; stale registrations (directory gone) are pruned first. */
  private async worktreesOf(r: Repo): Promise<WorktreeEntry[]> {
    let entries = await r.git.listWorktrees(r.path);
    if (entries.some((w) => w.prunable)) {
      // A registration whose directory is gone blocks `worktree add` at that path and keeps its branch "checked out".
      await r.git.output(r.path, ['worktree', 'prune']);
      entries = await r.git.listWorktrees(r.path);
    }
    return Promise.all(entries.map(async (w) => ({ ...w, path: await canonical(w.path) })));
  }

  /**
   * `git worktree add <args>` for `target`, all or nothing: if git fails, the
   * directory (when we made it), its registration and `newBranch` (which must
   * not have existed before) are removed again. A stale registration at target
   * (its directory gone) is pruned and the add tried once more.
   */
  private async addWorktree(
    r: Repo,
    root: string,
    target: string,
    args: string[],
    newBranch: string | null,
    retry = true,
  ): Promise<void> {
    const existedBefore = existsSync(target);
    if (existedBefore) {
      // git accepts an existing empty directory; anything else may be someone's files.
      const entries = await readdir(target).catch(() => null);
      if (entries === null || entries.length > 0) {
        if (await isRegistered(r, target)) throw new WorktreeError(`${target} is already a worktree of ${r.display}`);
        throw new WorktreeError(`${target} exists but is not a worktree of ${r.display}`);
      }
    }
    await mkdir(path.dirname(target), { recursive: true })
      // git, run as the agents' user, makes the worktree in it.
      .then(() => this.agentUser && chown(path.dirname(target), this.agentUser.uid, this.agentUser.gid))
      .catch((error: unknown) => {
        throw new WorktreeError(`cannot create ${path.dirname(target)}: ${error instanceof Error ? error.message : String(error)}`);
      });
    const result = await r.git.run(r.path, ['worktree', 'add', ...args]);
    if (result.code === 0) return;

    // git refuses a path registered before (its directory gone): that registration is not this add's to undo.
    const registeredBefore = /already registered worktree|missing but locked worktree/.test(result.stderr);
    if (!registeredBefore && existsSync(target) && (await isRegistered(r, target))) {
      await r.git.run(r.path, ['worktree', 'remove', '--force', '--force', target]);
    }
    if (!existedBefore) await rm(target, { recursive: true, force: true });
    // Also drops a stale registration at target, as worktreesOf would have.
    await r.git.run(r.path, ['worktree', 'prune']);
    // `worktree add -b` creates the branch before it checks the path.
    if (newBranch !== null && (await r.git.resolveCommit(r.path, `refs/heads/${newBranch}`)) !== null) {
      await r.git.run(r.path, ['branch', '-D', newBranch]);
    }
    await removeEmptyParent(root, target);
    if (registeredBefore) {
      if (retry && !(await isRegistered(r, target))) return this.addWorktree(r, root, target, args, newBranch, false);
      throw new WorktreeError(`${target} is already a worktree of ${r.display}`);
    }
    throw new WorktreeError(`could not create worktree ${target}: ${gitMessage(result)}`);
  }

  private async openRepo(repo: string): Promise<Repo> {
    let real: string;
    try {
      real = await realpath(repo);
    } catch {
      throw new WorktreeError(`repository path does not exist: ${repo}`);
    }
    const known = this.repoKeys.get(real);
    if (known !== undefined) return { display: repo, path: real, key: known, git: this.git };
    // Only successes are remembered: a path may become a repository later.
    if (!(await stat(real)).isDirectory()) throw new WorktreeError(`repository path is not a directory: ${repo}`);
    // A bare repository (this instance's mirror of a remote) has no top level: it is its own.
    const bare = await this.git.run(real, ['rev-parse', '--is-bare-repository']);
    if (bare.code === 0 && bare.stdout.trim() === 'true') {
      const key = await commonDir(this.git, real);
      this.repoKeys.set(real, key);
      return { display: repo, path: real, key, git: this.git };
    }
    const top = await this.git.run(real, ['rev-parse', '--show-toplevel']);
    if (top.code !== 0) {
      if (/not a git repository/i.test(top.stderr)) throw new WorktreeError(`not a git repository: ${repo}`);
      throw new WorktreeError(`cannot use ${repo} as a git repository: ${gitMessage(top)}`);
    }
    const topReal = await realpath(top.stdout.trim());
    // A sub-directory would silently act on the enclosing repository; say so instead.
    if (topReal !== real) throw new WorktreeError(`${repo} is inside the git repository ${topReal}, not its top level`);
    const key = await commonDir(this.git, real);
    this.repoKeys.set(real, key);
    return { display: repo, path: real, key, git: this.git };
  }

  /** The root, created and resolved once (on macOS /tmp is /private/tmp; git reports real paths). */
  private realRoot(): Promise<string> {
    // Passable by the agents' user, not listable by it.
    this.rootReal ??= mkdir(this.root, { recursive: true, mode: 0o711 })
      .then(() => this.agentUser && assertReachableBy(this.agentUser, this.root))
      .then(() => realpath(this.root))
      .catch((error: unknown) => {
        this.rootReal = null;
        throw error;
      });
    return this.rootReal;
  }
}

// ---- helpers ----

/** Git failures reach callers as WorktreeError: to a task, a git error is a reason it could not proceed. */
async function userFacing<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof WorktreeError) throw error;
    if (error instanceof GitCommandError) {
      throw new WorktreeError(error.message, { cause: error });
    }
    throw error;
  }
}

async function commonDir(git: Git, dir: string): Promise<string> {
  const common = (await git.output(dir, ['rev-parse', '--git-common-dir'])).trim();
  return realpath(path.resolve(dir, common));
}

/** The worktree's real path, checked to be a worktree's top level, and its repository's common git dir (the queue key). */
async function openWorktree(git: Git, worktree: string): Promise<{ dir: string; key: string }> {
  let real: string;
  try {
    real = await realpath(worktree);
  } catch {
    throw new WorktreeError(`worktree does not exist: ${worktree}`);
  }
  const found = await git.run(real, ['rev-parse', '--show-toplevel', '--git-common-dir']);
  const [top = '', common = ''] = found.stdout.split('\n');
  // A directory that is not (or no longer) a worktree's top would have git act on an enclosing repository.
  if (found.code !== 0 || top === '' || common === '' || (await realpath(top)) !== real) throw new WorktreeError(`not a git worktree: ${worktree}`);
  return { dir: real, key: await realpath(path.resolve(real, common)) };
}

/** Names used in paths: no separators, no "." or "..", nothing git or a shell would read specially. */
function pathSegment(value: string, what: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value)) throw new WorktreeError(`${what} "${value}" cannot be used in a worktree path`);
  return value;
}

async function checkBranchName(r: Repo, branch: string): Promise<void> {
  if (plainlyValidBranchName(branch)) return;
  // A leading '-' would be read as an option by the commands it is passed to.
  const ok = !branch.startsWith('-') && (await r.git.run(r.path, ['check-ref-format', `refs/heads/${branch}`])).code === 0;
  if (!ok) throw new WorktreeError(`"${branch}" is not a valid branch name`);
}

/**
 * Names git's rules (git-check-ref-format) plainly allow, decided without running git:
 * letters, digits, '.', '_', '-' and '/' only, starting with a letter or digit, no empty
 * component, no component starting with '.' or ending with '.lock', no '..', no final '.'.
 * Goal branch names Arbor makes are all of this kind; anything else is left to git.
 */
function plainlyValidBranchName(branch: string): boolean {
  return (
    /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(branch) &&
    !branch.includes('..') &&
    !branch.endsWith('.') &&
    branch.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'))
  );
}

/** Commits of those of `refs` (full names) that exist (a ref that is not a commit maps to ''); one git command. */
async function refCommits(r: Repo, refs: readonly string[]): Promise<Map<string, string>> {
  // Patterns match their ref exactly or as a prefix up to a '/'; only exact matches are kept.
  const wanted = new Set(refs);
  const out = await r.git.output(r.path, ['for-each-ref', '--format=%(refname)%00%(objecttype)%00%(objectname)', ...wanted]);
  const commits = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [ref = '', type = '', sha = ''] = line.split('\0');
    if (wanted.has(ref)) commits.set(ref, type === 'commit' ? sha : '');
  }
  return commits;
}

/** Moves `ref` from `local` (null: missing) up to `tip` unless it has commits of its own; returns where it is now. */
async function moveUpTo(r: Repo, ref: string, local: string | null, tip: string): Promise<string> {
  if (local === tip) return tip;
  if (local !== null && !(await isAncestor(r, local, tip))) return local;
  await r.git.output(r.path, ['update-ref', '-m', 'arbor: follow the remote', ref, tip, local ?? ZERO_OID]);
  return tip;
}

async function isAncestor(r: Repo, ancestor: string, of: string): Promise<boolean> {
  const result = await r.git.run(r.path, ['merge-base', '--is-ancestor', ancestor, of]);
  if (result.code !== 0 && result.code !== 1) throw new WorktreeError(`git merge-base failed: ${gitMessage(result)}`);
  return result.code === 0;
}

async function isRegistered(r: Repo, target: string): Promise<boolean> {
  const paths = await Promise.all((await r.git.listWorktrees(r.path)).map((w) => canonical(w.path)));
  return paths.includes(target);
}

async function resolveBaseRef(r: Repo, baseRef: string): Promise<string> {
  const usable = baseRef !== '' && !baseRef.startsWith('-');
  // In a mirror the remote's branches are origin/<name> (it has no local branches of its own).
  const sha = usable ? ((await r.git.resolveCommit(r.path, baseRef)) ?? (await r.git.resolveCommit(r.path, `refs/remotes/${REMOTE}/${baseRef}`))) : null;
  if (sha === null) throw new WorktreeError(`base_ref "${baseRef}" not found in ${r.display}`);
  return sha;
}

/** States in which committing everything would record something other than the agent's finished work. */
async function assertCommittable(git: Git, dir: string, shown: string): Promise<void> {
  const busy = await operationInProgress(git, dir);
  if (busy !== null) throw new WorktreeError(`worktree ${shown} has ${busy}; Arbor cannot commit its leftover work`);
  const conflicts = await git.unmergedPaths(dir);
  if (conflicts.length > 0) {
    throw new WorktreeError(`worktree ${shown} has unresolved conflicts in ${conflicts.join(', ')}; Arbor cannot commit its leftover work`);
  }
  // On a detached HEAD the commit would not land on the task's branch.
  if ((await git.run(dir, ['symbolic-ref', '--quiet', 'HEAD'])).code !== 0) {
    throw new WorktreeError(`worktree ${shown} has a detached HEAD; Arbor cannot commit its leftover work`);
  }
}

/** A rebase, cherry-pick or revert left half-done, described for a message; null if none. (A merge is allowed: committing concludes it.) */
async function operationInProgress(git: Git, dir: string): Promise<string | null> {
  if ((await git.pathExists(dir, 'rebase-merge')) || (await git.pathExists(dir, 'rebase-apply'))) return 'a rebase in progress';
  if (await git.pathExists(dir, 'CHERRY_PICK_HEAD')) return 'a cherry-pick in progress';
  if (await git.pathExists(dir, 'REVERT_HEAD')) return 'a revert in progress';
  return null;
}

/** `git worktree remove`, twice --force (also a dirty or locked worktree); false when git refuses. */
async function gitRemoveWorktree(r: Repo, target: string): Promise<boolean> {
  return (await r.git.run(r.path, ['worktree', 'remove', '--force', '--force', target])).code === 0;
}

async function removeWorktree(r: Repo, target: string): Promise<void> {
  // git refuses some (e.g. with submodules). The directory is Arbor's; delete it and let prune drop the registration.
  if (!(await gitRemoveWorktree(r, target))) await rm(target, { recursive: true, force: true });
}

/** Drops <root>/<goal8> once its last worktree is gone; never the root itself. */
async function removeEmptyParent(root: string, target: string): Promise<void> {
  const parent = path.dirname(target);
  if (isUnder(root, parent)) await rmdir(parent).catch(() => undefined);
}

function isUnder(root: string, p: string): boolean {
  return p.startsWith(root + path.sep);
}

/** Absolute, with symlinks resolved as far as the path exists. */
async function canonical(p: string): Promise<string> {
  const absolute = path.resolve(p);
  try {
    return await realpath(absolute);
  } catch {
    const parent = path.dirname(absolute);
    return parent === absolute ? absolute : path.join(await canonical(parent), path.basename(absolute));
  }
}

/**
 * Which of `paths` some process has as (or under) its working directory, with one such pid.
 * Linux only (/proc); elsewhere nothing is known to be in use, and callers rely on `keep`.
 */
async function processesUsing(paths: string[]): Promise<Map<string, number>> {
  const users = new Map<string, number>();
  if (paths.length === 0 || process.platform !== 'linux') return users;
  const pids = await readdir('/proc').catch(() => [] as string[]);
  await Promise.all(
    pids
      .filter((name) => /^\d+$/.test(name))
      .map(async (pid) => {
        // Other users' processes are unreadable; those cannot be seen.
        const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => null);
        if (cwd === null) return;
        for (const p of paths) if (cwd === p || cwd.startsWith(p + path.sep)) users.set(p, Number(pid));
      }),
  );
  return users;
}
