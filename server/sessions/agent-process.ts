import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { environmentOf, type AgentUser } from './agent-user.js';
import { LineSplitter } from './process-lines.js';
import {
  GIVE_UP_AFTER_KILL_MS,
  groupState,
  readProcStatSync,
  signalGroup,
  waitForGroupToEnd,
} from './process-group.js';

export { processStartTime, endOrphanGroup } from './process-group.js';

/**
 * One agent CLI run as a child process that leads its own process group.
 *
 * - The child is spawned detached (setsid): pgid = pid, so the whole tree it
 *   starts can be signalled at once with kill(-pid, sig).
 * - Its pid and kernel start time are recorded, so that after a crash only the
 *   very same process is ever ended (endOrphanGroup), never a reused pid.
 * - stdout/stderr are delivered line by line; stdin gets the prompt and is closed.
 *   While the consumer's OutputFlow holds, both pipes are paused: the agent
 *   blocks on write, as with any slow reader, and the stall clock stops.
 * - Timeout, stall (no output), stop() and finishSoon() end the group:
 *   SIGTERM, then SIGKILL after the grace.
 * - `done` resolves once the leader has exited, no member of its group runs
 *   any more (leftovers of a leader that exited by itself are ended too) and
 *   all output has been delivered.
 */

export type ProcessEndReason = 'exited' | 'killed' | 'timed_out' | 'stalled' | 'stopped' | 'failed_to_start';

export interface ProcessEnd {
  /**
   * 'exited' = ended by itself (any code); 'killed' = died of a signal nobody
   * here sent (e.g. the OOM killer); timed_out/stalled/stopped = we ended it
   * for that reason (whatever signal finished it).
   */
  reason: ProcessEndReason;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** For failed_to_start: "agent CLI not found: <file>" (ENOENT), "agent CLI is not executable: <file>" (EACCES), or the spawn error message. */
  error: string | null;
}

export interface AgentProcessOptions {
  file: string;
  args: string[];
  cwd: string;
  /** The complete environment of the child (the caller builds it, see childEnvironment). */
  env: Record<string, string>;
  /** Run as this user (with its HOME, USER, LOGNAME) instead of Arbor's own; null or absent: Arbor's. */
  user?: AgentUser | null;
  /** Written, then closed; an EPIPE from a child that never reads is ignored. */
  stdin: string;
  /** 0 = none. */
  timeoutMs: number;
  /** 0 = none; no stdout/stderr output for this long ends the group, reason 'stalled'. */
  stallMs: number;
  /** SIGTERM to the group, then SIGKILL to the group after this. */
  killGraceMs: number;
  /**
   * Complete lines without the newline (nor a `\r` before it); a final
   * unterminated line is delivered at exit; lines longer than 64 Ki UTF-16
   * code units are split into pieces. An exception thrown here is swallowed.
   */
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  /** Backpressure from whoever consumes the lines (a session log); none: read as fast as the child writes. */
  flow?: OutputFlow;
}

/**
 * A consumer that may ask for the output to be held back. It must release
 * within a bound of its own: the process only waits, it never gives up on
 * its own (the task timeout still applies).
 */
export interface OutputFlow {
  /** True while the consumer wants no more lines; checked after each read from a pipe. */
  readonly holding: boolean;
  /** Calls `listener` each time `holding` turns false; returns the unsubscribe. */
  onRelease(listener: () => void): () => void;
}

export interface AgentProcess {
  /** null when it failed to start. */
  readonly pid: number | null;
  /**
   * Process start time as the kernel records it (/proc/<pid>/stat field 22,
   * clock ticks since boot) as a string; null if unknown (non-Linux).
   * Resolves null when the process failed to start.
   */
  readonly started: Promise<{ pid: number; startTime: string | null } | null>;
  /** Never rejects; resolves after the whole group is gone or killed and all output delivered. */
  readonly done: Promise<ProcessEnd>;
  /**
   * End the group now: SIGTERM, SIGKILL after the grace. reason defaults to
   * 'stopped'. Idempotent: the first reason wins. No effect once the leader
   * has exited (its leftovers are being ended anyway) or when it failed to
   * start; after finishSoon() it still ends the group at once, but the end
   * stays 'exited'.
   */
  stop(reason?: 'stopped' | 'timed_out' | 'stalled'): void;
  /**
   * The agent reported completion but its process lingers: end the group after
   * graceMs if it is still alive; the end is then reported as 'exited' with
   * the exit code/signal observed. Also disarms the timeout and stall timers.
   */
  finishSoon(graceMs: number): void;
}

export function startAgentProcess(options: AgentProcessOptions): AgentProcess {
  return new GroupProcess(options);
}

/** The child's environment: `base` without CLAUDECODE (and CLAUDE_CODE_ENTRYPOINT), plus `extra`. */
export function childEnvironment(
  base: Readonly<Record<string, string | undefined>>,
  extra: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, extra);
  // A nested Claude Code refuses to start (or behaves as a sub-agent) when it
  // sees these; they must not reach the child even if `extra` carries them.
  for (const name of HIDDEN_VARIABLES) delete env[name];
  return env;
}

const HIDDEN_VARIABLES = ['CLAUDECODE', 'CLAUDE_CODE_ENTRYPOINT'] as const;

/** After the group is gone, how long a pipe may stay silent before we stop waiting for its EOF. */
const DRAIN_IDLE_MS = 2_000;
/** ... and how long we read at most from a pipe that a process outside the group keeps writing to. */
const DRAIN_MAX_MS = 10_000;

/** setTimeout's delay is a signed 32-bit number of milliseconds; longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type StopReason = 'stopped' | 'timed_out' | 'stalled';

class GroupProcess implements AgentProcess {
  readonly pid: number | null;
  readonly started: Promise<{ pid: number; startTime: string | null } | null>;
  readonly done: Promise<ProcessEnd>;

  private readonly options: AgentProcessOptions;
  private readonly killGraceMs: number;
  private child: ChildProcess | null = null;
  private resolveDone!: (end: ProcessEnd) => void;

  private stopReason: StopReason | null = null;
  private finishing = false;
  /** SIGTERM has gone to the group (by stop, timeout, stall, finishSoon or leftover cleanup). */
  private terminating = false;
  private signalledBeforeExit = false;
  private killSentAt: number | null = null;
  private leaderExited = false;
  private finished = false;

  private timeoutTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private finishTimer: NodeJS.Timeout | null = null;
  private finishDeadline = Infinity;
  private killTimer: NodeJS.Timeout | null = null;
  private lastOutputAt = performance.now();
  /** Both pipes are paused because the consumer holds. */
  private outputPaused = false;
  private stopFollowingFlow: (() => void) | null = null;

  private readonly stdoutLines: LineSplitter;
  private readonly stderrLines: LineSplitter;

  constructor(options: AgentProcessOptions) {
    this.options = options;
    this.killGraceMs = nonNegative(options.killGraceMs);
    this.done = new Promise<ProcessEnd>((resolve) => {
      this.resolveDone = resolve;
    });
    this.stdoutLines = new LineSplitter((line) => this.deliver('stdout', line));
    this.stderrLines = new LineSplitter((line) => this.deliver('stderr', line));

    let child: ChildProcess;
    try {
      const user = options.user ?? null;
      child = spawn(options.file, options.args, {
        cwd: options.cwd,
        env: user ? environmentOf(user, options.env) : options.env,
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (error) {
      // Invalid arguments (e.g. a NUL byte in an argument) throw synchronously.
      this.pid = null;
      this.started = Promise.resolve(null);
      this.failToStart(error);
      return;
    }
    this.child = child;
    const pid = child.pid;
    if (pid === undefined) {
      // Failed to start: the 'error' event follows (ENOENT, EACCES, ...).
      this.pid = null;
      this.started = Promise.resolve(null);
      silence(child);
      child.once('error', (error) => this.failToStart(error));
      return;
    }
    this.pid = pid;
    // Read now, in the tick of spawn(): the child cannot have been reaped yet.
    const stat = readProcStatSync(pid);
    this.started = Promise.resolve({ pid, startTime: stat === null ? null : stat.startTime });

    child.on('error', () => {
      // Only spawn failures matter (handled above); signals go through process.kill.
    });
    child.once('exit', (code, signal) => this.onLeaderExit(code, signal));

    const stdout = child.stdout;
    const stderr = child.stderr;
    stdout?.on('data', (chunk: Buffer) => {
      this.lastOutputAt = performance.now();
      this.stdoutLines.push(chunk);
      this.pauseIfHeld();
    });
    stderr?.on('data', (chunk: Buffer) => {
      this.lastOutputAt = performance.now();
      this.stderrLines.push(chunk);
      this.pauseIfHeld();
    });
    if (options.flow) this.stopFollowingFlow = options.flow.onRelease(() => this.resumeOutput());
    stdout?.on('error', () => {});
    stderr?.on('error', () => {});

    const stdin = child.stdin;
    if (stdin !== null) {
      // EPIPE (the child exited or closed stdin without reading it all) is not our failure.
      stdin.on('error', () => {});
      stdin.end(options.stdin);
    }

    const timeoutMs = nonNegative(options.timeoutMs);
    if (timeoutMs > 0) {
      this.timeoutTimer = longTimeout(timeoutMs, (timer) => {
        this.timeoutTimer = timer;
      }, () => this.stop('timed_out'));
    }
    const stallMs = nonNegative(options.stallMs);
    if (stallMs > 0) this.armStallTimer(stallMs, stallMs);
  }

  stop(reason: StopReason = 'stopped'): void {
    if (this.pid === null || this.finished || this.leaderExited) return;
    if (this.stopReason === null && !this.finishing) this.stopReason = reason;
    this.disarmTimers();
    this.terminate();
  }

  finishSoon(graceMs: number): void {
    if (this.pid === null || this.finished || this.leaderExited || this.terminating) return;
    this.finishing = true;
    this.clearTimer('timeoutTimer');
    this.clearTimer('stallTimer');
    const grace = nonNegative(graceMs);
    const deadline = performance.now() + grace;
    if (deadline >= this.finishDeadline) return;
    this.finishDeadline = deadline;
    this.clearTimer('finishTimer');
    this.finishTimer = longTimeout(grace, (timer) => {
      this.finishTimer = timer;
    }, () => this.terminate());
  }

  private armStallTimer(stallMs: number, delay: number): void {
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      if (this.finished || this.leaderExited || this.terminating || this.finishing) return;
      // Silent because we stopped reading is not a stall; the clock restarts on resume.
      if (this.outputPaused) return this.armStallTimer(stallMs, stallMs);
      const quiet = performance.now() - this.lastOutputAt;
      if (quiet >= stallMs) this.stop('stalled');
      else this.armStallTimer(stallMs, Math.max(1, Math.ceil(stallMs - quiet)));
    }, Math.min(delay, MAX_TIMER_MS));
  }

  /** SIGTERM to the group now, SIGKILL after the grace. Once only. */
  private terminate(): void {
    if (this.terminating || this.finished || this.pid === null) return;
    this.terminating = true;
    const pid = this.pid;
    signalGroup(pid, 'SIGTERM');
    this.killTimer = setTimeout(() => {
      this.killTimer = null;
      void this.sendKill(pid);
    }, Math.min(this.killGraceMs, MAX_TIMER_MS));
  }

  private async sendKill(pid: number): Promise<void> {
    if (this.finished) return;
    // While the leader has not been reaped its pid cannot be reused; after that,
    // the group id stays reserved only as long as a member remains.
    if (this.leaderExited && (await groupState(pid)) === 'gone') return;
    if (this.finished) return;
    signalGroup(pid, 'SIGKILL');
    this.killSentAt = performance.now();
  }

  private onLeaderExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.leaderExited = true;
    this.signalledBeforeExit = this.terminating;
    this.disarmTimers();
    void this.finish(code, signal);
  }

  private async finish(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const pid = this.pid;
    const child = this.child;
    if (pid === null || child === null) return;
    try {
      // Whatever the leader left running in its group is ended as well: an
      // agent must not keep working unobserved.
      if ((await groupState(pid)) !== 'gone') this.terminate();
      await waitForGroupToEnd(pid, {
        killSentAt: () => this.killSentAt,
        giveUpAfterKillMs: GIVE_UP_AFTER_KILL_MS,
      });
      this.finished = true;
      this.clearTimer('killTimer');
      // Nothing of the group writes any more: read the pipes to their end (a
      // process that left the group may still hold them, so not forever).
      // Backpressure ends here: what is left is bounded by the drain, and the
      // consumer bounds its own memory.
      this.unfollowFlow();
      await Promise.all([drain(child.stdout), drain(child.stderr)]);
    } catch {
      // Nothing above should throw; never let `done` hang or reject because of it.
    } finally {
      this.finished = true;
      this.unfollowFlow();
      this.clearTimer('killTimer');
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
      this.stdoutLines.end();
      this.stderrLines.end();
      this.resolveDone(this.classify(code, signal));
    }
  }

  private classify(exitCode: number | null, signal: NodeJS.Signals | null): ProcessEnd {
    if (this.stopReason !== null) return { reason: this.stopReason, exitCode, signal, error: null };
    if (this.finishing) return { reason: 'exited', exitCode, signal, error: null };
    if (signal !== null && !this.signalledBeforeExit) return { reason: 'killed', exitCode, signal, error: null };
    return { reason: 'exited', exitCode, signal, error: null };
  }

  private failToStart(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.disarmTimers();
    this.resolveDone({
      reason: 'failed_to_start',
      exitCode: null,
      signal: null,
      error: startErrorMessage(error, this.options.file, this.options.cwd, this.options.user?.name ?? null),
    });
  }

  private pauseIfHeld(): void {
    if (this.outputPaused || this.stopFollowingFlow === null || !this.options.flow?.holding) return;
    this.outputPaused = true;
    this.child?.stdout?.pause();
    this.child?.stderr?.pause();
  }

  private resumeOutput(): void {
    if (!this.outputPaused) return;
    this.outputPaused = false;
    this.lastOutputAt = performance.now();
    this.child?.stdout?.resume();
    this.child?.stderr?.resume();
  }

  private unfollowFlow(): void {
    this.stopFollowingFlow?.();
    this.stopFollowingFlow = null;
    this.resumeOutput();
  }

  private deliver(stream: 'stdout' | 'stderr', line: string): void {
    try {
      this.options.onLine(stream, line);
    } catch {
      // The consumer's failure must not take the process handling down with it.
    }
  }

  private disarmTimers(): void {
    this.clearTimer('timeoutTimer');
    this.clearTimer('stallTimer');
    this.clearTimer('finishTimer');
  }

  private clearTimer(name: 'timeoutTimer' | 'stallTimer' | 'finishTimer' | 'killTimer'): void {
    const timer = this[name];
    if (timer !== null) clearTimeout(timer);
    this[name] = null;
  }
}

function startErrorMessage(error: unknown, file: string, cwd: string, user: string | null): string {
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
  if (code === 'EACCES') return `agent CLI is not executable${user === null ? '' : ` by ${user}`}: ${file}`;
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

function silence(child: ChildProcess): void {
  child.stdin?.on('error', () => {});
  child.stdout?.on('error', () => {});
  child.stderr?.on('error', () => {});
}

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * A timeout that may exceed setTimeout's 24.8-day limit: chained timers, each
 * reported through `track` so the caller can always clear the current one.
 */
function longTimeout(ms: number, track: (timer: NodeJS.Timeout) => void, fire: () => void): NodeJS.Timeout {
  const deadline = performance.now() + ms;
  const step = (): NodeJS.Timeout =>
    setTimeout(() => {
      const left = deadline - performance.now();
      if (left > 0) track(step());
      else fire();
    }, Math.min(Math.max(1, deadline - performance.now()), MAX_TIMER_MS));
  return step();
}

/**
 * Resolves at the pipe's EOF, or once it has been silent for DRAIN_IDLE_MS or
 * DRAIN_MAX_MS have passed (a process that left the group, e.g. with setsid,
 * still holds its write end).
 */
function drain(stream: Readable | null): Promise<void> {
  if (stream === null || stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout;
    const finish = (): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', finish);
      stream.off('close', finish);
      stream.off('error', finish);
      resolve();
    };
    const deadline = performance.now() + DRAIN_MAX_MS;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(finish, Math.max(0, Math.min(DRAIN_IDLE_MS, deadline - performance.now())));
    };
    const onData = (): void => arm();
    stream.on('data', onData);
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', finish);
    arm();
  });
}
