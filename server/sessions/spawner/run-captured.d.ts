/** A command run to its end with its output captured (git, as Arbor runs it). */
export interface CapturedCommand {
  file: string;
  args: readonly string[];
  cwd: string;
  /** The whole environment of the command. */
  env: Record<string, string>;
  /** Run as this user and group (both or neither). */
  uid?: number;
  gid?: number;
  /** Names the command in error messages ("git fetch in /repo"). */
  label?: string;
  /** Ends the command (and rejects) when it has not finished within this long. */
  timeoutMs?: number;
  /** Keeps at most this much of stdout, then ends the command: the result says `truncated`. */
  maxStdoutBytes?: number;
  /** No output for this long ends the command as stuck (default ten minutes). */
  blockTimeoutMs?: number;
}

export interface CapturedResult {
  /** Exit code; 128 + the signal's number if the command was killed by a signal. */
  code: number;
  stdout: string;
  stderr: string;
  /** stdout reached `maxStdoutBytes`: what is here is its beginning, and the command was ended. */
  truncated?: boolean;
}

export function runCaptured(command: CapturedCommand): Promise<CapturedResult>;
