import { spawn, type ChildProcess } from 'node:child_process';
import { access, chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { startEmbeddedPostgres } from '../../server/db/embedded-postgres.js';
import { createGitRepo } from './git-repo.js';
import { processGone } from './processes.js';

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

/** A server process from the moment it is spawned; `listening` settles with its URL (or fails if it exits first). */
export interface LaunchedServer {
  pid: number;
  child: ChildProcess;
  /** Everything the process wrote so far, stdout and stderr interleaved. */
  output(): string;
  /** Parsed pino lines from stdout so far (non-JSON lines are skipped). */
  logLines(): Record<string, unknown>[];
  /** The first log line (already written or still to come) that `match` accepts; fails if the process exits first. */
  waitForLog(what: string, match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** The URL from the 'arbor listening' line. */
  listening: Promise<string>;
  /** Settles when the process has exited. */
  exited: Promise<ServerExit>;
  /** Sends `signal` and waits for the exit, failing with the output after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ServerExit>;
}

export interface ServerProcess extends LaunchedServer {
  url: string;
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
  const server = launchServer(options);
  const url = await server.listening.catch(async (err: unknown) => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    throw err;
  });
  return { ...server, url };
}

/** Spawns the server without waiting for it to listen (it may have to wait for another one first). */
export function launchServer(options: StartServerOptions): LaunchedServer {
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
    // Tests that stop a server mid-run want it stopped now; the drain has a test of its own.
    ARBOR_SHUTDOWN_DRAIN_S: '0',
    // Bundling the dashboard costs every start a second or more of CPU; its own tests turn it on.
    ARBOR_DASHBOARD: 'off',
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
  const watchers = new Set<(line: Record<string, unknown>) => void>();
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
        for (const watcher of [...watchers]) watcher(line);
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

  const waitForLog = (what: string, match: (line: Record<string, unknown>) => boolean, waitMs = timeoutMs) => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        watchers.delete(watcher);
      };
      const watcher = (line: Record<string, unknown>) => {
        if (!match(line)) return;
        done();
        resolve(line);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the server did not log ${what} within ${waitMs} ms; output:\n${output}`));
      }, waitMs);
      watchers.add(watcher);
      child.once('error', (err) => {
        done();
        reject(new Error(`could not spawn the server: ${err.message}`));
      });
      void exited.then(({ code, signal }) => {
        done();
        reject(new Error(`the server exited (code ${code}, signal ${signal}) before it logged ${what}; output:\n${output}`));
      });
    });
  };

  const listening = waitForLog("'arbor listening'", (line) => line.msg === 'arbor listening' && typeof line.url === 'string').then(
    (line) => line.url as string,
  );
  // Callers that only care about the exit need not handle a start that never listened.
  listening.catch(() => {});

  return {
    pid: child.pid!,
    child,
    output: () => output,
    logLines: () => [...lines],
    waitForLog,
    listening,
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

/** The pid of a live postmaster in `dataDir`'s embedded cluster, or null when none runs there. */
export async function embeddedPostgresPid(dataDir: string): Promise<number | null> {
  const text = await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').catch(() => null);
  const pid = Number(text?.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && !processGone(pid) ? pid : null;
}

/** A fresh data dir for a server (as root, Postgres runs as the postgres user, who must traverse it). */
export async function createDataDir(prefix = 'arbor-e2e-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** Stops what a killed server left running in `dataDir`, then removes it. */
export async function removeDataDir(dataDir: string): Promise<void> {
  try {
    await stopLeftoverPostgres(dataDir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * For a test file of server processes: fresh data dirs, and a git repository
 * for goals; after the file, servers still running are killed and the dirs
 * removed with whatever Postgres a killed server left running there.
 */
export function useServerDirs(prefix: string): { newDataDir(): Promise<string>; repo(): string } {
  const dataDirs: string[] = [];
  let repo: string | undefined;
  beforeAll(async () => {
    repo = (await createGitRepo({ prefix: `${prefix}repo-` })).path;
  });
  afterAll(async () => {
    await killAllServers();
    await Promise.all(dataDirs.map(removeDataDir));
    if (repo) await rm(repo, { recursive: true, force: true });
  }, 120_000);
  return {
    newDataDir: async () => {
      const dir = await createDataDir(prefix);
      dataDirs.push(dir);
      return dir;
    },
    repo: () => repo!,
  };
}
