import { spawn, type ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../../server/db/embedded-postgres.js';

/**
 * The real server (`node --import tsx server/main.ts`) as a child process, for
 * e2e tests: started on port 0, its URL learned from the 'arbor listening' log
 * line, stopped with a signal of the test's choosing.
 */

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Everything the process wrote so far, stdout and stderr interleaved. */
  output(): string;
  /** Parsed pino lines from stdout so far (non-JSON lines are skipped). */
  logLines(): Record<string, unknown>[];
  /** Settles when the process has exited. */
  exited: Promise<ServerExit>;
  /** Sends `signal` and waits for the exit, failing with the output after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ServerExit>;
}

export interface StartServerOptions {
  dataDir: string;
  /** Script to run instead of server/main.ts (a fixture composing the real server with a fake agent runner). */
  entry?: string;
  /** Use this database instead of an embedded Postgres. */
  databaseUrl?: string;
  /** Extra environment on top of the defaults. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Every child started here that may still be running, for cleanup. */
const live = new Set<ChildProcess>();

export async function startServer(options: StartServerOptions): Promise<ServerProcess> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const env: NodeJS.ProcessEnv = { ...process.env };
  // No DATABASE_URL: the server runs its own embedded Postgres. Settings from
  // the developer's shell must not change what the test sees either.
  delete env.DATABASE_URL;
  for (const name of Object.keys(env)) if (name.startsWith('ARBOR_')) delete env[name];
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  Object.assign(env, {
    ARBOR_DATA_DIR: options.dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    ...options.env,
  });

  const child = spawn(process.execPath, ['--import', 'tsx', options.entry ?? 'server/main.ts'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);

  let output = '';
  const lines: Record<string, unknown>[] = [];
  let pending = '';
  let onLine: ((line: Record<string, unknown>) => void) | undefined;
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    output += chunk;
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (!text.startsWith('{')) continue;
      try {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        onLine?.(line);
      } catch {
        // not a log line
      }
    }
  });
  child.stderr!.on('data', (chunk: string) => {
    output += chunk;
  });

  const exited = new Promise<ServerExit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      onLine = undefined;
      reject(new Error(`the server did not log 'arbor listening' within ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    onLine = (line) => {
      if (line.msg === 'arbor listening' && typeof line.url === 'string') {
        clearTimeout(timer);
        onLine = undefined;
        resolve(line.url);
      }
    };
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not spawn the server: ${err.message}`));
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (code ${code}, signal ${signal}) before listening; output:\n${output}`));
    });
  }).catch(async (err: unknown) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    throw err;
  });

  return {
    url,
    pid: child.pid!,
    child,
    output: () => output,
    logLines: () => [...lines],
    exited,
    stop: async (signal = 'SIGTERM', stopTimeoutMs = 60_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the server did not exit within ${stopTimeoutMs} ms of ${signal}; output:\n${output}`)),
          stopTimeoutMs,
        );
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Kills (SIGKILL) every server child that is still running and waits for them. */
export async function killAllServers(): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/**
 * Stops an embedded Postgres a killed server left running in `dataDir`:
 * adopting it through the same code the server uses, then stopping it.
 */
export async function stopLeftoverPostgres(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
  const present = await access(pidFile).then(
    () => true,
    () => false,
  );
  if (!present) return;
  const pg = await startEmbeddedPostgres({ dataDir, port: 0, durable: true });
  await pg.stop();
}
