/**
 * Where a goal's git work happens on this instance. A goal's `repo` is a
 * path on this machine (used as it is) or a remote's URL: then this
 * instance's mirror of it, fetched before each session, is where worktrees
 * are made, and task branches and goal-branch merges are pushed to the
 * remote, each push a compare-and-swap on the remote's tip.
 */
import { classifyRepo } from '../domain/repo-location.js';
import type { BranchTip } from './branch-merge.js';
import { KeyedQueue } from './git-repo-queue.js';
import { MirrorError, type RepoMirror, type RepoMirrors } from './repo-mirror.js';
import { WorktreeManager } from './worktrees.js';

export interface GoalRepo {
  /** The repository worktrees are made in and merges computed in: the path, or the mirror. */
  local: string;
  /** The remote, through this instance's mirror; null for a path. */
  remote: RemoteRepo | null;
}

/**
 * A mirror's fetches and pushes, one at a time and never during other git
 * work in the mirror: git locks each ref it updates and does not wait for a
 * lock, and a fetch checks every ref, the HEADs of worktrees being made or
 * removed included. Other instances have mirrors of their own.
 */
export class RemoteRepo {
  constructor(
    private readonly mirror: RepoMirror,
    private readonly worktrees: WorktreeManager,
  ) {}

  private serial<T>(work: () => Promise<T>): Promise<T> {
    return this.worktrees.exclusive(this.mirror.path, work);
  }

  /** Everything, or (given the goal's branch) that branch and its task branches only. */
  fetch(goalBranch: string | null = null): Promise<void> {
    return this.serial(() => (goalBranch === null ? this.mirror.fetch() : this.mirror.fetchBranchFamily(goalBranch)));
  }

  trackedTip(branch: string): Promise<string | null> {
    return this.mirror.trackedTip(branch);
  }

  /** Pushes `source` to the remote's `branch` if the remote's tip is still `expected` (null: absent). */
  pushWithLease(source: string, branch: string, expected: string | null): Promise<'pushed' | 'lost'> {
    return this.serial(() => this.mirror.push(source, branch, { expected }));
  }

  /** The remote's goal branch as a merge target: read by a fetch of it, swapped by a push with a lease. */
  branchTip(branch: string): BranchTip {
    const tip = this.mirror.branchTip(branch);
    return {
      ...tip,
      refresh: () => this.serial(() => tip.refresh()),
      read: () => this.serial(() => tip.read()),
      swap: (next, expected) => this.serial(() => tip.swap(next, expected)),
    };
  }
}

export class GoalRepos {
  /** Orders the first opening (the clone) of each mirror. */
  private readonly queue = new KeyedQueue();
  private readonly opened = new Map<string, RemoteRepo>();

  constructor(
    private readonly worktrees: WorktreeManager,
    /** Null: this instance keeps no mirrors, and a goal with a remote repo cannot run here. */
    private readonly mirrors: RepoMirrors | null,
  ) {}

  /**
   * The goal's repository on this instance, a remote's mirror fetched now (a
   * session starts from what the remote has): all of it until the goal has a
   * branch (base_ref is read from it), then the goal's branches only.
   */
  async open(repo: string, goalBranch: string | null = null): Promise<GoalRepo> {
    const location = classifyRepo(repo);
    if (location.kind !== 'remote') return { local: repo, remote: null };
    if (!this.mirrors) throw new MirrorError(`this instance keeps no mirrors, so it cannot work on the remote ${location.url}`);
    const mirrors = this.mirrors;
    const local = mirrors.pathFor(location.url);
    const known = this.opened.get(local);
    if (known) {
      await known.fetch(goalBranch);
      return { local, remote: known };
    }
    // The first use clones (or finds) the mirror and fetches, before any other git work in it here.
    const remote = await this.queue.run(local, async () => {
      const already = this.opened.get(local);
      if (already) {
        await already.fetch(goalBranch);
        return already;
      }
      const opened = new RemoteRepo(await mirrors.open(location.url), this.worktrees);
      this.opened.set(local, opened);
      return opened;
    });
    return { local, remote };
  }

  /** Where worktrees of `repo` live on this instance, without fetching: for cleaning up. */
  localPath(repo: string): string | null {
    const location = classifyRepo(repo);
    if (location.kind === 'path') return repo;
    if (location.kind === 'remote' && this.mirrors) return this.mirrors.pathFor(location.url);
    return null;
  }

  /**
   * The goal branch, created on first use: on a remote, created there from
   * base_ref if absent (create-if-absent: another instance creating it at the
   * same moment wins, and its branch is used), and the mirror's local branch
   * brought up to the remote's.
   */
  async ensureGoalBranch(
    where: GoalRepo,
    goal: { id: string; title: string; baseRef: string; branch: string | null },
  ): Promise<{ branch: string; head: string }> {
    if (!where.remote) return this.worktrees.ensureGoalBranch(where.local, goal);
    const remote = where.remote;
    const branch = goal.branch ?? WorktreeManager.goalBranchName(goal);
    const followed = await this.worktrees.followTracked(where.local, branch);
    if (followed.tracked !== null) return { branch, head: followed.local };
    const base = await this.worktrees.baseCommit(where.local, goal.baseRef);
    const tip = (await remote.pushWithLease(base, branch, null)) === 'pushed' ? base : await remote.branchTip(branch).read();
    if (tip === null) throw new MirrorError(`the goal branch ${branch} could not be created on the remote`);
    return { branch, head: await this.worktrees.followBranch(where.local, branch, tip) };
  }
}
