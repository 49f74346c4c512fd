import { spawn, type ChildProcess } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { environmentOf, type AgentUser } from './agent-user.js';

export interface GroupLeaderCommand {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  user: AgentUser | null;
  /** The scheduling niceness (0-19) the leader gets at once; the processes it starts inherit it. 0: Arbor's own. */
  nice: number;
}

/**
 * Spawns `file` detached (setsid): pgid = pid, so the whole tree it starts can
 * be signalled at once with kill(-pid, sig). As the agents' user when one is
 * given (its uid, gid, HOME, USER, LOGNAME). Throws on invalid arguments (e.g.
 * a NUL byte); a child without a pid failed to start and its 'error' follows.
 */
export function spawnGroupLeader(command: GroupLeaderCommand): ChildProcess {
  const { user } = command;
  const child = spawn(command.file, command.args, {
    cwd: command.cwd,
    env: user ? environmentOf(user, command.env) : command.env,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  if (child.pid !== undefined && command.nice > 0) lowerPriority(child.pid, command.nice);
  return child;
}

/**
 * Agents yield the CPU to Arbor: on a machine their builds and tests keep
 * busy, the orchestrator, its API and the database still get scheduled (with
 * twenty agents printing flat out on two cores, the server got a fifth of a
 * core and answered /healthz in seconds). Set right after the spawn: what the
 * agent starts from then on inherits it.
 *
 * Both niceness values: the process's, and on Linux with autogroup
 * scheduling (the default of most distributions) its autogroup's. The agent
 * leads a session of its own (setsid), so it is its own autogroup, and
 * autogroups share the CPU equally whatever their processes' niceness: the
 * process's alone changes nothing then. A process that is already gone, or
 * one Arbor may not renice, keeps running as it is.
 */
function lowerPriority(pid: number, nice: number): void {
  try {
    os.setPriority(pid, Math.max(os.getPriority(pid), nice));
  } catch {
    // ESRCH (it exited at once) or EACCES/EPERM: not worth failing a run over.
  }
  try {
    // A write to procfs, not a disk: it does not block the event loop.
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch {
    // No autogroups (not Linux, or a kernel without them), or the process is gone.
  }
}

/** What a failed start reads as: the missing or unusable part named, not only the errno. */
export function startErrorMessage(error: unknown, command: GroupLeaderCommand): string {
  const { file, cwd, user } = command;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') {
    // spawn reports a missing working directory with the same code.
    if (!isDirectory(cwd)) return `working directory not found: ${cwd}`;
    if (file.includes('/') && exists(file)) {
      return `agent CLI not found: ${file} (the file exists; the interpreter named on its #! line does not)`;
    }
    return `agent CLI not found: ${file}`;
  }
  // As the agents' user, a CLI installed under root's home (or a PATH entry there) is out of reach.
  if (code === 'EACCES') return `agent CLI is not executable${user === null ? '' : ` by ${user.name}`}: ${file}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
