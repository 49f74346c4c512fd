import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The OS user agents run as (ARBOR_AGENT_USER). A process of Arbor's own uid
 * can read /proc/<arbor>/environ and every file Arbor can; only another user
 * is a boundary. Only root may start processes as another user.
 */
export interface AgentUser {
  name: string;
  uid: number;
  gid: number;
  /** A directory the user owns and may write: its HOME, where agent CLIs keep their state. */
  home: string;
}

export class AgentUserError extends Error {
  override name = 'AgentUserError';
}

/** Where a home is made for a user whose passwd entry has none it owns (e.g. `nobody`: /nonexistent). */
const FALLBACK_HOME = 'agent-home';

/**
 * Resolves `spec` (a user name or uid) to the user agents run as, or null when
 * it is Arbor's own user (nothing to switch). Throws AgentUserError when the
 * user does not exist or Arbor is not root and so cannot switch to it.
 * I/O at start only: passwd lookup, and the fallback home under `dataDir`.
 */
export function resolveAgentUser(spec: string, options: { dataDir: string; ownUid: number }): AgentUser | null {
  const entry = lookUpUser(spec);
  if (entry === null) throw new AgentUserError(`ARBOR_AGENT_USER: no such user: ${spec}`);
  if (entry.uid === options.ownUid) return null;
  if (options.ownUid !== 0) {
    throw new AgentUserError(
      `ARBOR_AGENT_USER: starting agents as ${spec} needs Arbor to run as root (it runs as uid ${options.ownUid}); unset it or start Arbor as root`,
    );
  }
  openDataDir(options.dataDir);
  const home = ownedDirectory(entry.home, entry.uid) ? entry.home : fallbackHome(options.dataDir, entry.uid, entry.gid);
  return { name: entry.name, uid: entry.uid, gid: entry.gid, home };
}

/** `env` for a process of `user`: HOME, USER and LOGNAME are the user's own, not Arbor's. */
export function environmentOf(user: AgentUser, env: Record<string, string>): Record<string, string> {
  return { ...env, HOME: user.home, USER: user.name, LOGNAME: user.name };
}

/**
 * Throws unless `user` may pass through every directory above and including
 * `dir` (it needs that to reach its worktree and the repository).
 */
export function assertReachableBy(user: AgentUser, dir: string): void {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const stat = statSync(current);
    const searchable = stat.uid === user.uid ? stat.mode & 0o100 : stat.gid === user.gid ? stat.mode & 0o010 : stat.mode & 0o001;
    if (!searchable) {
      throw new AgentUserError(
        `agents run as ${user.name} but cannot reach ${dir}: ${current} is not searchable by that user (chmod o+x it, or choose another ARBOR_WORKTREE_ROOT)`,
      );
    }
    if (path.dirname(current) === current) return;
  }
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** getent (so users from NSS count too) takes a name or a uid; a bare uid with no entry is its own group and has no home. */
function lookUpUser(spec: string): PasswdEntry | null {
  let line = '';
  try {
    line = execFileSync('getent', ['passwd', spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ?? '';
  } catch {
    // Not found (exit 2) or no getent: only a numeric uid can still be used.
  }
  const fields = line.split(':');
  if (fields.length >= 7) {
    return { name: fields[0]!, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! };
  }
  if (/^\d+$/.test(spec)) return { name: spec, uid: Number(spec), gid: Number(spec), home: '' };
  return null;
}

function ownedDirectory(dir: string, uid: number): boolean {
  if (!path.isAbsolute(dir)) return false;
  try {
    const stat = statSync(dir);
    return stat.isDirectory() && stat.uid === uid;
  } catch {
    return false;
  }
}

/**
 * Agents pass through Arbor's data dir to their worktrees and home below it, but
 * may not list it (nor read pg-password, which is 0600): 0711.
 */
function openDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  if ((statSync(dataDir).mode & 0o7777) !== 0o711) chmodSync(dataDir, 0o711);
}

/** <dataDir>/agent-home, the user's own and private. */
function fallbackHome(dataDir: string, uid: number, gid: number): string {
  const home = path.join(dataDir, FALLBACK_HOME);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  chownSync(home, uid, gid);
  chmodSync(home, 0o700);
  return home;
}
