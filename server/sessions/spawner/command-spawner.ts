import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCaptured, type CapturedCommand, type CapturedResult } from './run-captured.js';

export type { CapturedCommand, CapturedResult } from './run-captured.js';

/** Runs a command to its end and captures its output; rejects only when it could not be run to its end. */
export interface CommandRunner {
  run(command: CapturedCommand): Promise<CapturedResult>;
}

/** Spawns from this process: for tools and tests that run a few commands. */
export const inProcessRunner: CommandRunner = { run: runCaptured };

const SPAWNER_MAIN = fileURLToPath(new URL('./spawner-main.js', import.meta.url));

interface Pending {
  command: CapturedCommand;
  resolve: (result: CapturedResult) => void;
  reject: (error: Error) => void;
}

type SpawnerReply = { id: number; result: CapturedResult } | { id: number; error: string };

/**
 * Runs commands from a small long-lived child process instead of the server.
 *
 * Why: `spawn()` forks the calling process synchronously, and the kernel copies
 * the page tables of all its memory. For a server of ~200 MB on a virtual
 * machine that is 5-40 ms of its event loop per git command, and a spawned
 * task runs ~20 of them: measured, the server's main thread spent 45 s of 95 s
 * inside spawn() while draining 62 tasks. Forking the spawner (a plain Node
 * process of a few tens of MB) is cheap, happens on its own loop, and the
 * server only sends and receives one IPC message per command.
 *
 * The process starts on the first command and is not waited for by Node while
 * idle. If it dies, the commands it was running are rejected (they may or may
 * not have run: their callers treat that as a failed git command) and the next
 * command starts a new one. `close()` ends it; a later command starts another.
 */
export class SpawnerProcess implements CommandRunner {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  run(command: CapturedCommand): Promise<CapturedResult> {
    return new Promise<CapturedResult>((resolve, reject) => {
      const child = this.child ?? this.start();
      const id = this.nextId++;
      this.pending.set(id, { command, resolve, reject });
      if (this.pending.size === 1) this.hold(child, true);
      child.send({ id, command }, (error) => {
        if (error) this.settle(id, (p) => p.reject(this.failure(p.command, `could not be handed to the process spawner: ${error.message}`)));
      });
    });
  }

  /** Ends the spawner; commands still running in it are rejected (they may or may not have run). */
  async close(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    for (const id of [...this.pending.keys()]) this.settle(id, (p) => p.reject(this.failure(p.command, 'the process spawner was closed while it ran')));
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Disconnecting is how it is told to exit (it ignores SIGINT and SIGTERM: see spawner-main.js).
    if (child.connected) child.disconnect();
    else child.kill('SIGKILL');
    await exited;
  }

  /** The spawner's pid while it runs (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private start(): ChildProcess {
    // No execArgv: not the server's loader, profiler or inspector flags. An empty environment:
    // NODE_OPTIONS must not load anything into it, and each command brings its own (git is looked
    // up on the PATH of the command's env).
    const child = fork(SPAWNER_MAIN, [], {
      execArgv: [],
      env: {},
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    this.hold(child, false);
    child.on('message', (reply) => {
      const message = reply as SpawnerReply;
      this.settle(message.id, (p) => ('error' in message ? p.reject(new Error(message.error)) : p.resolve(message.result)));
    });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = null;
      for (const id of [...this.pending.keys()]) this.settle(id, (p) => p.reject(this.failure(p.command, why)));
    };
    child.once('error', (error) => gone(`the process spawner failed: ${error.message}`));
    child.once('exit', (code, signal) => gone(`the process spawner exited (${signal ?? `code ${code}`}) while it ran`));
    return child;
  }

  private settle(id: number, how: (pending: Pending) => void): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    how(pending);
    if (this.pending.size === 0 && this.child !== null) this.hold(this.child, false);
  }

  /** Keeps this process alive while commands run in the spawner, and not otherwise. */
  private hold(child: ChildProcess, busy: boolean): void {
    if (busy) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }

  private failure(command: CapturedCommand, why: string): Error {
    return new Error(`cannot run ${command.label ?? command.file}: ${why}`);
  }
}
