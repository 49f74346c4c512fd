// Plain JavaScript, on purpose: the spawner process (spawner-main.js) runs this
// module with no TypeScript loader, so that it starts in milliseconds and
// stays small. Its types are in run-captured.d.ts.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';

/** No output for this long means the command is stuck (e.g. git waiting on a lock held by a dead process). */
const BLOCK_TIMEOUT_MS = 10 * 60_000;
/** After SIGTERM (which lets git remove its .lock files), how long before SIGKILL. */
const KILL_GRACE_MS = 5_000;
/** How long after the command exits its output may still be read, if something else keeps its pipes open. */
const CLOSE_GRACE_MS = 200;

/**
 * Runs one command to its end and captures what it printed: its exit code is
 * the result (a non-zero one is not an error), while a command that cannot
 * start, misses its deadline or hangs rejects with a message that says which.
 *
 * @param {import('./run-captured.js').CapturedCommand} command
 * @returns {Promise<import('./run-captured.js').CapturedResult>}
 */
export function runCaptured(command) {
  const { file, args, cwd, env, label, timeoutMs, maxStdoutBytes } = command;
  const what = label ?? `${file} in ${cwd}`;
  const blockTimeoutMs = command.blockTimeoutMs ?? BLOCK_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const ids = command.uid === undefined ? {} : { uid: command.uid, gid: command.gid };
    const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], ...ids });
    /** @type {Buffer[]} */
    const stdout = [];
    /** @type {Buffer[]} */
    const stderr = [];
    let stdoutBytes = 0;
    let truncated = false;
    let settled = false;
    let stuck = false;
    let overdue = false;
    /** @type {NodeJS.Timeout | undefined} */
    let killTimer;
    /** @type {NodeJS.Timeout | undefined} */
    let closeTimer;

    const onStuck = () => {
      stuck = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    let blockTimer = setTimeout(onStuck, blockTimeoutMs);
    const deadline =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            overdue = true;
            onStuck();
          }, timeoutMs);
    const progress = () => {
      if (stuck) return;
      clearTimeout(blockTimer);
      blockTimer = setTimeout(onStuck, blockTimeoutMs);
    };
    /** @param {() => void} settle */
    const finish = (settle) => {
      if (settled) return;
      settled = true;
      clearTimeout(blockTimer);
      clearTimeout(killTimer);
      clearTimeout(closeTimer);
      clearTimeout(deadline);
      settle();
    };
    /** @param {number | null} code @param {NodeJS.Signals | null} signal */
    const done = (code, signal) =>
      finish(() => {
        if (overdue) {
          reject(new Error(`${what} did not finish within ${timeoutMs} ms and was ended`));
          return;
        }
        if (stuck) {
          reject(new Error(`${what} produced no output for ${formatDuration(blockTimeoutMs)} and was killed (waiting on a lock?)`));
          return;
        }
        resolve({
          code: code ?? (signal !== null ? 128 + (constants.signals[signal] ?? 0) : 128),
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
          ...(truncated ? { truncated } : {}),
        });
      });

    child.stdout.on('data', (/** @type {Buffer} */ chunk) => {
      if (truncated) return;
      const room = (maxStdoutBytes ?? Number.POSITIVE_INFINITY) - stdoutBytes;
      if (chunk.length > room) {
        // Enough read: the rest is not wanted, and the command need not produce it.
        truncated = true;
        stdout.push(chunk.subarray(0, room));
        child.kill('SIGTERM');
        return;
      }
      stdout.push(chunk);
      stdoutBytes += chunk.length;
      progress();
    });
    child.stderr.on('data', (/** @type {Buffer} */ chunk) => {
      stderr.push(chunk);
      progress();
    });
    child.once('error', (/** @type {NodeJS.ErrnoException} */ error) => {
      finish(() => {
        // The child may have started (e.g. a failed kill): make sure it does not linger.
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        if (error.code === 'ENOENT') {
          // A missing cwd also gives ENOENT; say which.
          const missing = existsSync(cwd) ? `${file} was not found (is it installed and on the PATH?)` : `directory does not exist: ${cwd}`;
          reject(new Error(`cannot run ${what}: ${missing}`, { cause: error }));
        } else {
          reject(new Error(`cannot run ${what}: ${error.message}`, { cause: error }));
        }
      });
    });
    // 'close' (all output read) normally follows 'exit' at once; a process the command started
    // (a git hook's background job, say) may hold the pipes open much longer, so do not wait for it.
    // The grace ends in the check phase (setImmediate), after a poll phase has read what the pipes
    // hold: a process descheduled for longer than the grace runs due timers before it polls, and
    // `rev-parse` that exited 0 was then answered with no output at all ("no such commit").
    child.once('exit', (code, signal) => {
      closeTimer = setTimeout(() => setImmediate(() => done(code, signal)), CLOSE_GRACE_MS);
    });
    child.once('close', done);
  });
}

/** @param {number} ms */
function formatDuration(ms) {
  return ms % 60_000 === 0 ? `${ms / 60_000} minutes` : `${ms} ms`;
}
