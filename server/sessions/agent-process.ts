import type { ChildProcess } from 'node:child_process';
import type { AgentUser } from './agent-user.js';
import {
  GIVE_UP_AFTER_KILL_MS,
  groupState,
  readProcStatSync,
  signalGroup,
  waitForGroupToEnd,
} from './process-group.js';
import { ProcessOutput, type OutputFlow } from './process-output.js';
import { spawnGroupLeader, startErrorMessage, type GroupLeaderCommand } from './process-spawn.js';
import {
  INITIAL_STATE,
  checkStall,
  killSentAt,
  transition,
  type ProcessAction,
  type ProcessEnd,
  type ProcessEvent,
  type ProcessState,
  type StopReason,
} from './process-state.js';

export { processStartTime, endOrphanGroup } from './process-group.js';
export type { OutputFlow } from './process-output.js';
export type { ProcessEnd, ProcessEndReason } from './process-state.js';

/**
 * One agent CLI run as a child process that leads its own process group.
 *
 * - The child is spawned detached (setsid): pgid = pid, so the whole tree it
 *   starts can be signalled at once with kill(-pid, sig) (process-spawn.ts).
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
 *
 * Where it is in that life is one ProcessState (process-state.ts); this class
 * feeds it events and performs the actions each transition asks for.
 */

export interface AgentProcessOptions {
  file: string;
  args: string[];
  cwd: string;
  /** The complete environment of the child (the caller builds it, see childEnvironment). */
  env: Record<string, string>;
  /** Run as this user (with its HOME, USER, LOGNAME) instead of Arbor's own; null or absent: Arbor's. */
  user?: AgentUser | null;
  /** Scheduling niceness of the agent and what it starts (0-19); absent or 0: Arbor's own. */
  nice?: number;
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

/** setTimeout's delay is a signed 32-bit number of milliseconds; longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type TimerName = 'timeout' | 'stall' | 'finish' | 'kill';

class GroupProcess implements AgentProcess {
  readonly pid: number | null;
  readonly started: Promise<{ pid: number; startTime: string | null } | null>;
  readonly done: Promise<ProcessEnd>;

  private state: ProcessState = INITIAL_STATE;
  private readonly command: GroupLeaderCommand;
  private readonly killGraceMs: number;
  private readonly stallMs: number;
  private output: ProcessOutput | null = null;
  private resolveDone!: (end: ProcessEnd) => void;
  private readonly timers: Record<TimerName, NodeJS.Timeout | null> = {
    timeout: null,
    stall: null,
    finish: null,
    kill: null,
  };

  constructor(options: AgentProcessOptions) {
    this.command = {
      file: options.file,
      args: options.args,
      cwd: options.cwd,
      env: options.env,
      user: options.user ?? null,
      nice: options.nice ?? 0,
    };
    this.killGraceMs = nonNegative(options.killGraceMs);
    this.stallMs = nonNegative(options.stallMs);
    this.done = new Promise<ProcessEnd>((resolve) => {
      this.resolveDone = resolve;
    });

    let child: ChildProcess;
    try {
      child = spawnGroupLeader(this.command);
    } catch (error) {
      // Invalid arguments (e.g. a NUL byte in an argument) throw synchronously.
      this.pid = null;
      this.started = Promise.resolve(null);
      this.failToStart(error);
      return;
    }
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
    this.dispatch({ type: 'spawned' });

    child.on('error', () => {
      // Only spawn failures matter (handled above); signals go through process.kill.
    });
    child.once('exit', (exitCode, signal) => this.dispatch({ type: 'leader_exited', exitCode, signal }));
    this.output = new ProcessOutput(child, options.onLine, options.flow ?? null);

    const stdin = child.stdin;
    if (stdin !== null) {
      // EPIPE (the child exited or closed stdin without reading it all) is not our failure.
      stdin.on('error', () => {});
      stdin.end(options.stdin);
    }

    const timeoutMs = nonNegative(options.timeoutMs);
    if (timeoutMs > 0) this.armLongTimer('timeout', timeoutMs, () => this.dispatch({ type: 'timed_out' }));
    if (this.stallMs > 0) this.armStallTimer(this.stallMs);
  }

  stop(reason: StopReason = 'stopped'): void {
    this.dispatch({ type: 'stop', reason });
  }

  finishSoon(graceMs: number): void {
    this.dispatch({ type: 'finish_soon', deadline: performance.now() + nonNegative(graceMs) });
  }

  private dispatch(event: ProcessEvent): void {
    const { state, actions } = transition(this.state, event);
    this.state = state;
    for (const action of actions) this.perform(action);
  }

  private perform(action: ProcessAction): void {
    const pid = this.pid;
    switch (action.type) {
      case 'disarm_run_timers':
        this.clearTimer('timeout');
        this.clearTimer('stall');
        this.clearTimer('finish');
        return;
      case 'arm_finish_timer':
        this.armLongTimer('finish', action.deadline - performance.now(), () => this.dispatch({ type: 'finish_due' }));
        return;
      case 'send_sigterm':
        if (pid === null) return;
        signalGroup(pid, 'SIGTERM');
        this.clearTimer('kill');
        this.timers.kill = setTimeout(() => {
          this.timers.kill = null;
          void this.killIfStillThere(pid);
        }, Math.min(this.killGraceMs, MAX_TIMER_MS));
        return;
      case 'send_sigkill':
        if (pid !== null) signalGroup(pid, 'SIGKILL');
        return;
      case 'reap_group':
        if (pid !== null) void this.reapGroup(pid);
        return;
      case 'drain_output':
        this.clearTimer('kill');
        void this.drainOutput();
        return;
      case 'settle':
        for (const name of Object.keys(this.timers) as TimerName[]) this.clearTimer(name);
        this.output?.close();
        this.resolveDone(action.end);
        return;
    }
  }

  private async killIfStillThere(pid: number): Promise<void> {
    // While the leader has not been reaped its pid cannot be reused; after that,
    // the group id stays reserved only as long as a member remains.
    if (this.state.phase === 'leader_exited' && (await groupState(pid)) === 'gone') return;
    this.dispatch({ type: 'kill_due', at: performance.now() });
  }

  private async reapGroup(pid: number): Promise<void> {
    try {
      if ((await groupState(pid)) !== 'gone') this.dispatch({ type: 'leftovers_found' });
      await waitForGroupToEnd(pid, {
        killSentAt: () => killSentAt(this.state),
        giveUpAfterKillMs: GIVE_UP_AFTER_KILL_MS,
      });
    } catch {
      // Nothing above should throw; never let `done` hang or reject because of it.
    }
    this.dispatch({ type: 'group_gone' });
  }

  private async drainOutput(): Promise<void> {
    try {
      // Nothing of the group writes any more, but a process that left it may still hold the pipes.
      await this.output?.drain();
    } catch {
      // As above: `done` must resolve.
    }
    this.dispatch({ type: 'drained' });
  }

  private failToStart(error: unknown): void {
    this.dispatch({ type: 'spawn_failed', error: startErrorMessage(error, this.command) });
  }

  private armStallTimer(delay: number): void {
    this.timers.stall = setTimeout(() => {
      this.timers.stall = null;
      if (this.state.phase !== 'running' || this.output === null) return;
      const check = checkStall(performance.now() - this.output.lastOutputAt, this.stallMs, this.output.paused);
      if (check.stalled) this.dispatch({ type: 'stalled' });
      else this.armStallTimer(check.recheckInMs);
    }, Math.min(delay, MAX_TIMER_MS));
  }

  /** A timer that may exceed setTimeout's 24.8-day limit: chained timers, the current one always in `timers`. */
  private armLongTimer(name: 'timeout' | 'finish', ms: number, fire: () => void): void {
    this.clearTimer(name);
    const deadline = performance.now() + ms;
    const step = (): void => {
      const left = deadline - performance.now();
      this.timers[name] = setTimeout(() => {
        this.timers[name] = null;
        if (deadline - performance.now() > 0) step();
        else fire();
      }, Math.min(Math.max(1, left), MAX_TIMER_MS));
    };
    step();
  }

  private clearTimer(name: TimerName): void {
    const timer = this.timers[name];
    if (timer !== null) clearTimeout(timer);
    this.timers[name] = null;
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
