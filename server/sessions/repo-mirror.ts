import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { redactUrlCredentials } from '../domain/repo-location.js';
import type { BranchTip } from './branch-merge.js';
import { gitMessage, type Git, type GitResult } from './git-command.js';

/**
 * This instance's copy of a remote repository: one bare repository per
 * remote URL under `<root>/<hash of the URL>`, that worktrees are made from
 * and that task branches and goal-branch merges are pushed from.
 *
 * Not `git clone --mirror`: a mirror's fetch (`+refs/*:refs/*`, pruned)
 * would delete the local branches Arbor has made but not pushed yet, and its
 * `git push` pushes (and deletes) every ref, so a mirror that was behind
 * would wipe out branches other instances pushed. Here the remote's branches
 * are fetched into `refs/remotes/origin/*` and its tags into `refs/tags/*`
 * (both pruned: they are only ever a copy of the remote; Arbor makes no
 * tags), local branches in `refs/heads/*` belong to this instance and a fetch
 * never touches them, and every push names its one ref explicitly.
 *
 * Credentials come from the user's git setup (ssh agent, credential helper,
 * or the URL itself); any URL in a message is shown without them.
 */

export const REMOTE = 'origin';

/** One fetch in this many lets git check whether the mirror wants packing (see RepoMirror.autoMaintenance). */
const FETCHES_PER_MAINTENANCE = 50;

export class MirrorError extends Error {
  constructor(message: string) {
    super(redactUrlCredentials(message));
    this.name = 'MirrorError';
  }
}

export type PushOutcome = 'pushed' | 'lost';

export interface PushOptions {
  /**
   * The tip the remote branch must have for the push to happen (a lease):
   * a sha, or null for "must not exist yet". Without it the push must be a
   * fast-forward.
   */
  expected?: string | null;
}

export class RepoMirror {
  constructor(
    private readonly git: Git,
    readonly url: string,
    /** The bare repository. */
    readonly path: string,
  ) {}

  /** Fetches so far: see autoMaintenance. */
  private fetches = 0;

  /**
   * After each fetch git starts `git maintenance run --auto`, a process of
   * its own, to see whether the repository wants packing: the first fetch
   * and one in FETCHES_PER_MAINTENANCE let it, which keeps the mirror packed.
   */
  private autoMaintenance(): string {
    return this.fetches++ % FETCHES_PER_MAINTENANCE === 0 ? '--auto-maintenance' : '--no-auto-maintenance';
  }

  /** Brings `refs/remotes/origin/*` and tags up to the remote. */
  async fetch(): Promise<void> {
    const result = await this.git.run(this.path, ['fetch', '--quiet', '--prune', '--no-write-fetch-head', this.autoMaintenance(), REMOTE]);
    if (result.code !== 0) throw new MirrorError(`fetching ${this.url} failed: ${gitMessage(result)}`);
  }

  /**
   * Brings `branch` and the branches named after it (a goal branch and its
   * task branches, `<branch>--<key>`) up to the remote: with many branches
   * on the remote, far less to list and compare than fetch(). Branches the
   * remote no longer has are left as they were.
   */
  async fetchBranchFamily(branch: string): Promise<void> {
    const spec = `+refs/heads/${branch}*:refs/remotes/${REMOTE}/${branch}*`;
    const result = await this.git.run(this.path, ['fetch', '--quiet', '--no-write-fetch-head', this.autoMaintenance(), REMOTE, spec]);
    if (result.code !== 0) throw new MirrorError(`fetching ${branch} from ${this.url} failed: ${gitMessage(result)}`);
  }

  /** The remote's tip of `branch` as last fetched (or pushed); null when there is none. */
  trackedTip(branch: string): Promise<string | null> {
    return this.git.resolveCommit(this.path, `refs/remotes/${REMOTE}/${branch}`);
  }

  /**
   * Pushes `source` (a commit or a ref of the mirror) to the remote's
   * `refs/heads/<branch>`. 'lost' when the remote's tip was not the one
   * expected (or, without a lease, the push was not a fast-forward): the
   * remote is as it was. Any other refusal (a hook, permissions) throws.
   */
  async push(source: string, branch: string, options: PushOptions = {}): Promise<PushOutcome> {
    const ref = `refs/heads/${branch}`;
    const lease = options.expected === undefined ? [] : [`--force-with-lease=${ref}:${options.expected ?? ''}`];
    // --atomic: one ref here, but a push is all-or-nothing however it grows.
    const result = await this.git.run(this.path, ['push', '--porcelain', '--atomic', ...lease, REMOTE, `${source}:${ref}`]);
    if (result.code === 0) return 'pushed';
    if (pushLostRace(result, ref)) return 'lost';
    throw new MirrorError(`pushing ${branch} to ${this.url} was refused: ${pushRefusal(result, ref)}`);
  }

  /** The remote's `branch` as a BranchTip: read after a fetch of that branch, swapped by a push with a lease. */
  branchTip(branch: string): BranchTip & Required<Pick<BranchTip, 'refresh'>> {
    const fetchBranch = async () => {
      const spec = `+refs/heads/${branch}:refs/remotes/${REMOTE}/${branch}`;
      const result = await this.git.run(this.path, ['fetch', '--quiet', '--no-write-fetch-head', this.autoMaintenance(), REMOTE, spec]);
      if (result.code === 0) return true;
      if (/couldn't find remote ref/i.test(result.stderr)) return false;
      throw new MirrorError(`fetching ${branch} from ${this.url} failed: ${gitMessage(result)}`);
    };
    return {
      repo: this.path,
      name: `${redactUrlCredentials(this.url)} refs/heads/${branch}`,
      ref: `refs/remotes/${REMOTE}/${branch}`,
      refresh: fetchBranch,
      read: async () => ((await fetchBranch()) ? this.trackedTip(branch) : null),
      swap: async (next, expected) => this.push(next, branch, { expected }).then((outcome) => (outcome === 'pushed' ? 'swapped' : 'lost')),
    };
  }
}

/**
 * One mirror per remote URL under `root`, made on first use. Concurrent
 * first uses of one URL share the one clone.
 */
export class RepoMirrors {
  private readonly opening = new Map<string, Promise<RepoMirror>>();

  constructor(
    private readonly git: Git,
    /** `<data dir>/mirrors` */
    readonly root: string,
  ) {}

  pathFor(url: string): string {
    return path.join(this.root, createHash('sha256').update(url).digest('hex').slice(0, 24));
  }

  /** The mirror of `url`, cloned if this instance has none yet, fetched. */
  async open(url: string): Promise<RepoMirror> {
    const dir = this.pathFor(url);
    let opening = this.opening.get(dir);
    if (!opening) {
      opening = this.openOnce(url, dir);
      this.opening.set(dir, opening);
      // A failed open is tried afresh next time; a successful one is remembered.
      opening.catch(() => this.opening.delete(dir));
    }
    const mirror = await opening;
    await mirror.fetch();
    return mirror;
  }

  private async openOnce(url: string, dir: string): Promise<RepoMirror> {
    const existing = await this.git.run(dir, ['config', '--get', `remote.${REMOTE}.url`]).catch(() => null);
    if (existing && existing.code === 0) {
      if (existing.stdout.trim() !== url) throw new MirrorError(`${dir} is a mirror of another repository`);
      return new RepoMirror(this.git, url, dir);
    }
    // Made under a temporary name and renamed into place: a clone cut short never passes for a mirror.
    await mkdir(this.root, { recursive: true });
    const temporary = `${dir}.partial-${randomBytes(4).toString('hex')}`;
    try {
      await this.mustRun(this.root, ['init', '--quiet', '--bare', temporary], url);
      await this.mustRun(temporary, ['remote', 'add', REMOTE, url], url);
      await this.mustRun(temporary, ['config', '--add', `remote.${REMOTE}.fetch`, '+refs/tags/*:refs/tags/*'], url);
      await this.mustRun(temporary, ['fetch', '--quiet', '--prune', '--no-write-fetch-head', REMOTE], url);
      await rename(temporary, dir);
    } finally {
      await rm(temporary, { recursive: true, force: true });
    }
    return new RepoMirror(this.git, url, dir);
  }

  private async mustRun(cwd: string, args: string[], url: string): Promise<void> {
    const result = await this.git.run(cwd, args);
    if (result.code !== 0) throw new MirrorError(`mirroring ${url}: git ${args[0]} failed: ${gitMessage(result)}`);
  }
}

/** `git push --porcelain` lines: `<flag>\t<from>:<to>\t<summary> (<reason>)`; `!` is a rejected ref. */
function rejectedLine(result: GitResult, ref: string): string | null {
  return result.stdout.split('\n').find((line) => line.startsWith('!') && line.split('\t')[1]?.endsWith(`:${ref}`)) ?? null;
}

/** The lease was stale, or (no lease) the remote moved on: someone else's tip is there. */
function pushLostRace(result: GitResult, ref: string): boolean {
  const line = rejectedLine(result, ref);
  return line !== null && /\[rejected\] \((stale info|fetch first|non-fast-forward)\)/.test(line);
}

function pushRefusal(result: GitResult, ref: string): string {
  const line = rejectedLine(result, ref);
  const reason = line?.split('\t')[2];
  const said = gitMessage({ ...result, stdout: '' });
  return reason ? `${reason}${said ? `; ${said}` : ''}` : gitMessage(result);
}
