import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

/**
 * One Arbor per data directory: whoever holds this lock owns the embedded
 * Postgres under it (starts, adopts, stops it); anyone else waits.
 *
 * The lock is a listening Unix socket. On Linux it lives in the abstract
 * namespace, named after the directory's device and inode: the kernel frees
 * the name the moment the holder dies, however it dies (SIGKILL and OOM
 * included), so there is no stale lock file to judge and no race between two
 * starters deciding the same one is stale. Sockets are opened close-on-exec,
 * so agents and the detached Postgres never inherit it: a killed Arbor whose
 * children live on has still released the lock. The holder answers anyone who
 * connects with its pid, which the waiter names in its messages.
 *
 * Other platforms have no abstract namespace: there the socket is a file in
 * the data dir, and a socket file nobody answers on is left over from a dead
 * holder and replaced.
 */

export interface DataDirLock {
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** How long to wait for another holder to let go before giving up. */
  waitMs: number;
  /** Told when this process starts waiting (and every so often while it waits). */
  onWait?: (holder: LockHolder) => void;
}

export interface LockHolder {
  pid: number | null;
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

const RETRY_MS = 200;
const REMIND_MS = 10_000;

export async function acquireDataDirLock(dataDir: string, options: AcquireOptions): Promise<DataDirLock> {
  await fs.mkdir(dataDir, { recursive: true });
  const address = await lockAddress(dataDir);
  const deadline = Date.now() + options.waitMs;
  let remindAt = 0;
  for (;;) {
    const server = await tryListen(address);
    if (server) return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    const holder = await askHolder(address);
    if (holder === 'nobody') {
      // A socket file left by a dead holder (never the case in the abstract namespace).
      await fs.rm(address, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new DataDirLockedError(
        `${dataDir} is in use by another Arbor${holder.pid ? ` (pid ${holder.pid})` : ''}: stop it, or give this one its own ARBOR_DATA_DIR`,
      );
    }
    if (Date.now() >= remindAt) {
      options.onWait?.(holder);
      remindAt = Date.now() + REMIND_MS;
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

async function lockAddress(dataDir: string): Promise<string> {
  if (process.platform !== 'linux') return path.join(dataDir, 'arbor.lock.sock');
  // Device and inode, not the path: two spellings of one directory (symlinks, bind mounts) are one lock.
  const stat = await fs.stat(dataDir, { bigint: true });
  const id = createHash('sha256').update(`${stat.dev}:${stat.ino}`).digest('hex').slice(0, 32);
  return `\0arbor-data-dir-${id}`;
}

/** The listening lock socket, or null when someone else holds it. */
function tryListen(address: string): Promise<net.Server | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.end(JSON.stringify({ pid: process.pid }));
    });
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(null) : reject(err)));
    server.listen(address, () => {
      // Held for as long as the process lives, but never what keeps it alive.
      server.unref();
      resolve(server);
    });
  });
}

/** Who holds the lock; 'nobody' when no one answers on its socket. */
function askHolder(address: string): Promise<LockHolder | 'nobody'> {
  return new Promise((resolve) => {
    const socket = net.connect(address);
    let reply = '';
    socket.setTimeout(1_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (reply += chunk.slice(0, 200)));
    socket.on('end', () => {
      try {
        const { pid } = JSON.parse(reply) as { pid?: unknown };
        resolve({ pid: typeof pid === 'number' ? pid : null });
      } catch {
        resolve({ pid: null });
      }
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve({ pid: null });
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      // Refused: nobody listens. Anything else (the holder going away mid-answer): ask again next round.
      resolve(err.code === 'ECONNREFUSED' && process.platform !== 'linux' ? 'nobody' : { pid: null }),
    );
  });
}
