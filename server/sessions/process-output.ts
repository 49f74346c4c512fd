import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { LineSplitter } from './process-lines.js';

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

export type OutputStream = 'stdout' | 'stderr';

/** After the group is gone, how long a pipe may stay silent before we stop waiting for its EOF. */
const DRAIN_IDLE_MS = 2_000;
/** ... and how long we read at most from a pipe that a process outside the group keeps writing to. */
const DRAIN_MAX_MS = 10_000;

/**
 * A child's stdout and stderr, delivered line by line. While the consumer's
 * OutputFlow holds, both pipes are paused: the child blocks on write, as with
 * any slow reader.
 */
export class ProcessOutput {
  /** performance.now() of the last read, or of the last resume after a hold. */
  lastOutputAt = performance.now();
  /** Both pipes are paused because the consumer holds. */
  paused = false;

  private readonly child: ChildProcess;
  private readonly flow: OutputFlow | null;
  private stopFollowingFlow: (() => void) | null = null;
  private readonly stdoutLines: LineSplitter;
  private readonly stderrLines: LineSplitter;

  constructor(child: ChildProcess, onLine: (stream: OutputStream, line: string) => void, flow: OutputFlow | null) {
    this.child = child;
    this.flow = flow;
    const deliver = (stream: OutputStream, line: string): void => {
      try {
        onLine(stream, line);
      } catch {
        // The consumer's failure must not take the process handling down with it.
      }
    };
    this.stdoutLines = new LineSplitter((line) => deliver('stdout', line));
    this.stderrLines = new LineSplitter((line) => deliver('stderr', line));
    this.read(child.stdout, this.stdoutLines);
    this.read(child.stderr, this.stderrLines);
    if (flow) this.stopFollowingFlow = flow.onRelease(() => this.resume());
  }

  /**
   * Reads the pipes to their end (a process that left the group may still hold
   * them, so not forever). Backpressure ends here: what is left is bounded by
   * the drain, and the consumer bounds its own memory.
   */
  async drain(): Promise<void> {
    this.unfollowFlow();
    await Promise.all([drain(this.child.stdout), drain(this.child.stderr)]);
  }

  /** Closes the pipes and delivers a final unterminated line of each. */
  close(): void {
    this.unfollowFlow();
    this.child.stdin?.destroy();
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    this.stdoutLines.end();
    this.stderrLines.end();
  }

  private read(stream: Readable | null, lines: LineSplitter): void {
    if (stream === null) return;
    stream.on('data', (chunk: Buffer) => {
      this.lastOutputAt = performance.now();
      lines.push(chunk);
      this.pauseIfHeld();
    });
    stream.on('error', () => {});
  }

  private pauseIfHeld(): void {
    if (this.paused || this.stopFollowingFlow === null || !this.flow?.holding) return;
    this.paused = true;
    this.child.stdout?.pause();
    this.child.stderr?.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.lastOutputAt = performance.now();
    this.child.stdout?.resume();
    this.child.stderr?.resume();
  }

  private unfollowFlow(): void {
    this.stopFollowingFlow?.();
    this.stopFollowingFlow = null;
    this.resume();
  }
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
