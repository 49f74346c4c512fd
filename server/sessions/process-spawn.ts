import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { environmentOf, type AgentUser } from './agent-user.js';

export interface GroupLeaderCommand {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  user: AgentUser | null;
}

/**
 * Spawns `file` detached (setsid): pgid = pid, so the whole tree it starts can
 * be signalled at once with kill(-pid, sig). As the agents' user when one is
 * given (its uid, gid, HOME, USER, LOGNAME). Throws on invalid arguments (e.g.
 * a NUL byte); a child without a pid failed to start and its 'error' follows.
 */
export function spawnGroupLeader(command: GroupLeaderCommand): ChildProcess {
  const { user } = command;
  return spawn(command.file, command.args, {
    cwd: command.cwd,
    env: user ? environmentOf(user, command.env) : command.env,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
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
