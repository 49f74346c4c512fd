import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDataDirLock, DataDirLockedError } from '../../server/db/data-dir-lock.js';
import { startEmbeddedPostgres } from '../../server/db/embedded-postgres.js';
import { processGone } from '../support/processes.js';
import { REPO_ROOT } from '../support/server-process.js';
import { waitFor } from '../support/orchestration.js';

/**
 * The data dir lock: one holder at a time, the waiter is told who holds it,
 * and a holder that dies — SIGKILL included, with children that outlive it —
 * has let go.
 */

let dataDir: string;
const strays: number[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbor-lock-'));
  await chmod(dataDir, 0o755);
});

afterAll(async () => {
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await rm(dataDir, { recursive: true, force: true });
});

/** A process that takes the lock, starts a child that outlives it, and prints both pids. */
function holdInChild(dir: string) {
  const script = `
    import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
    import { acquireDataDirLock } from ${JSON.stringify(path.join(REPO_ROOT, 'server/db/data-dir-lock.ts'))};
    await acquireDataDirLock(${JSON.stringify(dir)}, { waitMs: 0 });
    const child = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
    console.log(JSON.stringify({ child: child.pid }));
    setInterval(() => {}, 1000);
  `;
  const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const started = new Promise<{ child: number }>((resolve, reject) => {
    let out = '';
    holder.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(JSON.parse(out) as { child: number });
    });
    holder.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
  });
  return { holder, started };
}

describe('the data dir lock', () => {
  it('refuses a second holder after its wait, naming the holder, and is free again once released', async () => {
    const first = await acquireDataDirLock(dataDir, { waitMs: 0 });
    const waits: (number | null)[] = [];
    const second = acquireDataDirLock(dataDir, { waitMs: 300, onWait: (holder) => waits.push(holder.pid) });
    await expect(second).rejects.toThrow(DataDirLockedError);
    await expect(second).rejects.toThrow(`(pid ${process.pid})`);
    expect(waits).toEqual([process.pid]);

    await first.release();
    const again = await acquireDataDirLock(dataDir, { waitMs: 0 });
    await again.release();
  });

  it('a waiter gets the lock as soon as the holder lets go', async () => {
    const first = await acquireDataDirLock(dataDir, { waitMs: 0 });
    let waiting!: () => void;
    const isWaiting = new Promise<void>((resolve) => (waiting = resolve));
    const second = acquireDataDirLock(dataDir, { waitMs: 60_000, onWait: () => waiting() });
    await isWaiting;
    await first.release();
    await (await second).release();
  });

  it('is free once its holder is SIGKILLed, though the holder\'s child lives on', async () => {
    const { holder, started } = holdInChild(dataDir);
    const { child } = await started;
    strays.push(child);
    await expect(acquireDataDirLock(dataDir, { waitMs: 0 })).rejects.toThrow(`(pid ${holder.pid})`);

    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    expect(processGone(child)).toBe(false);
    const lock = await acquireDataDirLock(dataDir, { waitMs: 0 });
    await lock.release();
  });

  it('an embedded Postgres whose postmaster died stops without an error and lets go of the data dir', { timeout: 60_000 }, async () => {
    const dir = path.join(dataDir, 'pg-owner');
    const postgres = await startEmbeddedPostgres({ dataDir: dir, port: 0, durable: false, lockWaitMs: 0 });
    try {
      expect(await postgres.alive()).toBe(true);
      const pid = Number(readFileSync(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      await waitFor('the postmaster gone', async () => !(await postgres.alive()));
    } finally {
      await postgres.stop();
    }
    const lock = await acquireDataDirLock(dir, { waitMs: 0 });
    await lock.release();
  });
});
