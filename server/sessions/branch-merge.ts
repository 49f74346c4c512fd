import { ARBOR_IDENTITY, gitMessage, type Git } from './git-command.js';

/**
 * Merging a task branch into a goal branch as a git object operation: no
 * worktree is checked out or touched, so any instance can merge into any goal
 * branch. The merge is computed with `git merge-tree --write-tree`, committed
 * with `git commit-tree` and published with a compare-and-swap on the goal
 * branch's tip; when another merge moved the tip in between, the swap fails,
 * nothing was changed, and the merge is computed again on the new tip.
 */

/** Where a goal branch's tip is read and swapped: a local ref, or a branch on a remote. */
export interface BranchTip {
  /** The repository whose objects the merge is computed in (a worktree, a repository or a bare mirror). */
  readonly repo: string;
  /** For messages: `refs/heads/x`, or `origin refs/heads/x`. */
  readonly name: string;
  /** The ref in `repo` that holds the tip (once `refresh` has run, when there is one). */
  readonly ref: string;
  /** Brings `ref` up to the branch (a fetch of a remote's); false when the branch does not exist. */
  refresh?(): Promise<boolean>;
  /** The current tip (refreshed first); null when the branch does not exist. */
  read(): Promise<string | null>;
  /**
   * Moves the tip from `expected` to `next` only if it is still `expected`.
   * 'lost' when it was not (nothing changed); throws when the swap was refused
   * for another reason (nothing changed either).
   */
  swap(next: string, expected: string): Promise<'swapped' | 'lost'>;
}

export type MergeOutcome =
  | { kind: 'merged'; sha: string; previous: string; tries: number }
  | { kind: 'conflicts'; paths: string[]; head: string }
  /** Every commit of the task branch is already in the goal branch: nothing was done. */
  | { kind: 'already-merged'; head: string };

export class BranchMergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BranchMergeError';
  }
}

/** The task to merge names no commit. */
export class UnknownTaskError extends BranchMergeError {
  constructor(task: string) {
    super(`cannot merge "${task}": no such commit`);
    this.name = 'UnknownTaskError';
  }
}

export interface MergeOptions {
  /** The commit (or ref, in `goal.repo`) to merge in. */
  task: string;
  message: string;
  /** Compare-and-swap tries before giving up on a goal branch that keeps moving. */
  maxTries?: number;
  /** Called after the merge commit is made and before it is published: lets a test make another merge win the race first. */
  beforePublish?: (attempt: { tries: number; head: string; merge: string }) => Promise<void>;
}

const DEFAULT_MAX_TRIES = 8;

export async function mergeIntoBranch(git: Git, goal: BranchTip, options: MergeOptions): Promise<MergeOutcome> {
  // The first read of the tip is made along with the task's, in one git command. The task is
  // resolved once: what is merged is this commit, whatever moves its ref meanwhile.
  const exists = goal.refresh === undefined || (await goal.refresh());
  const [task = null, firstHead = null] = exists
    ? await git.resolveCommits(goal.repo, [options.task, goal.ref])
    : [await git.resolveCommit(goal.repo, options.task), null];
  if (task === null) throw new UnknownTaskError(options.task);
  const maxTries = options.maxTries ?? DEFAULT_MAX_TRIES;

  for (let tries = 1; tries <= maxTries; tries++) {
    const head = tries === 1 ? firstHead : await goal.read();
    if (head === null) throw new BranchMergeError(`cannot merge into ${goal.name}: the branch does not exist`);
    if (await isAncestor(git, goal.repo, task, head)) return { kind: 'already-merged', head };

    const tree = await mergeTree(git, goal.repo, head, task);
    if (tree.kind === 'conflicts') return { kind: 'conflicts', paths: tree.paths, head };
    const merge = (
      await git.output(goal.repo, ['commit-tree', tree.tree, '-p', head, '-p', task, '-m', options.message], { config: ARBOR_IDENTITY })
    ).trim();

    await options.beforePublish?.({ tries, head, merge });
    if ((await goal.swap(merge, head)) === 'swapped') return { kind: 'merged', sha: merge, previous: head, tries };
    // Lost the race: the commit just made is unreferenced garbage; merge again on the new tip.
  }
  throw new BranchMergeError(`could not merge into ${goal.name}: it moved under ${maxTries} tries in a row`);
}

/** A local branch, swapped with `git update-ref <ref> <new> <old>` (atomic, under git's ref lock). */
export function localBranchTip(git: Git, repo: string, branch: string): BranchTip {
  const ref = `refs/heads/${branch}`;
  const read = () => git.resolveCommit(repo, ref);
  return {
    repo,
    name: ref,
    ref,
    read,
    async swap(next, expected) {
      const result = await git.run(repo, ['update-ref', '-m', 'arbor: merge', ref, next, expected]);
      if (result.code === 0) return 'swapped';
      // Refused: either the tip moved (a lost race), or the ref could not be locked or written.
      if ((await read()) !== expected) return 'lost';
      throw new BranchMergeError(`could not update ${ref}: ${gitMessage(result)}`);
    },
  };
}

export async function isAncestor(git: Git, repo: string, ancestor: string, of: string): Promise<boolean> {
  const result = await git.run(repo, ['merge-base', '--is-ancestor', ancestor, of]);
  if (result.code === 0) return true;
  if (result.code === 1) return false;
  throw new BranchMergeError(`git merge-base failed: ${gitMessage(result)}`);
}

type TreeResult = { kind: 'clean'; tree: string } | { kind: 'conflicts'; paths: string[] };

/**
 * `git merge-tree --write-tree` on two commits (not names: an unknown name
 * also exits 1, like a conflict). Exit 0 = clean, 1 = conflicts, anything
 * else = error. With -z --name-only --no-messages the output is the tree
 * id, then each conflicted path, NUL-terminated.
 */
async function mergeTree(git: Git, repo: string, ours: string, theirs: string): Promise<TreeResult> {
  const result = await git.run(repo, ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', ours, theirs]);
  const [tree = '', ...rest] = result.stdout.split('\0');
  const paths = [...new Set(rest.filter((p) => p !== ''))].sort();
  if (result.code === 0 && tree !== '') return { kind: 'clean', tree };
  if (result.code === 1 && paths.length > 0) return { kind: 'conflicts', paths };
  throw new BranchMergeError(`git merge-tree failed: ${gitMessage(result)}`);
}

export type CheckoutAdvance = { kind: 'advanced' } | { kind: 'refused'; reason: string };

/**
 * Brings a worktree whose files are at `from` up to `to` (a merge moved its
 * branch), keeping its uncommitted work: `git read-tree -m -u from to` is a
 * two-tree merge of the index and files that refuses — before writing
 * anything — when a change it would make meets a local edit or an untracked
 * file in its way. HEAD may already be at `to` (the branch moved under a
 * checkout of it) or still at `from` (then it is moved, by compare-and-swap).
 */
export async function advanceCheckout(git: Git, worktree: string, from: string, to: string): Promise<CheckoutAdvance> {
  const head = await git.resolveCommit(worktree, 'HEAD');
  if (head !== from && head !== to) {
    return { kind: 'refused', reason: `HEAD is at ${head ?? 'nothing'}, neither ${from} nor ${to}` };
  }
  const moved = await git.run(worktree, ['read-tree', '-m', '-u', from, to]);
  if (moved.code !== 0) return { kind: 'refused', reason: gitMessage(moved) };
  if (head === from) await git.output(worktree, ['update-ref', '-m', 'arbor: follow merge', 'HEAD', to, from]);
  return { kind: 'advanced' };
}
