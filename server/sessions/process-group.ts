import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isSignallablePid, readProcStat, type ProcStat } from '../host/proc-stat.js';

export { isSignallablePid, parseProcStat, readProcStat, readProcStatSync, type ProcStat } from '../host/proc-stat.js';

/**
 * Process-group plumbing on top of POSIX signals and Linux /proc: reading a
 * process's start time (to tell a reused pid from the process we started),
 * signalling a whole group, and finding out when a group is really gone.
 */

const isLinux = process.platform === 'linux';

function isZombie(stat: ProcStat): boolean {
  return stat.state === 'Z' || stat.state === 'X' || stat.state === 'x';
}

/** Sends `signal` to every process of group `pgid`. False when there is no such group (or no permission). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  if (!isSignallablePid(pgid)) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function signalProcess(pid: number, signal: NodeJS.Signals | 0): boolean {
  if (!isSignallablePid(pid)) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * 'gone': no process is in the group. 'no-live-member': kill() still finds the
 * group, but every member found is a zombie nobody reaps (e.g. when the server
 * runs as PID 1 in a container, orphans are re-parented to it and never
 * reaped). 'alive': a member is running.
 */
export type GroupState = 'gone' | 'no-live-member' | 'alive';

export async function groupState(pgid: number): Promise<GroupState> {
  if (!isSignallablePid(pgid)) return 'gone';
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
    // EPERM: the group exists but holds a process we may not signal; look closer.
  }
  if (!isLinux) return 'alive';
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return 'alive';
  }
  const pids = entries.filter((name) => /^\d+$/.test(name));
  const batch = 64;
  for (let i = 0; i < pids.length; i += batch) {
    const stats = await Promise.all(pids.slice(i, i + batch).map((name) => readProcStat(Number(name))));
    for (const stat of stats) {
      if (stat !== null && stat.pgrp === pgid && !isZombie(stat)) return 'alive';
    }
  }
  return 'no-live-member';
}

/** One process (not a group) by pid, only while it is still the process that started at `startTime`. */
async function processState(pid: number, startTime: string): Promise<GroupState> {
  const stat = await readProcStat(pid);
  if (stat === null || stat.startTime !== startTime) return 'gone';
  return isZombie(stat) ? 'no-live-member' : 'alive';
}

export interface WaitForEndOptions {
  /** When SIGKILL went out (performance.now()), or null while it has not. */
  killSentAt(): number | null;
  /** After SIGKILL, stop waiting this long for processes stuck in the kernel. */
  giveUpAfterKillMs: number;
  state?: () => Promise<GroupState>;
}

/**
 * Polls until the group has no running member: kill(-pgid, 0) fails with
 * ESRCH, or two checks in a row find only zombies (two, so that a process
 * forked between listing /proc and reading it is not missed).
 */
export async function waitForGroupToEnd(pgid: number, options: WaitForEndOptions): Promise<void> {
  const check = options.state ?? (() => groupState(pgid));
  let interval = 5;
  let quietChecks = 0;
  for (;;) {
    const state = await check();
    if (state === 'gone') return;
    if (state === 'no-live-member') {
      quietChecks += 1;
      if (quietChecks >= 2) return;
    } else {
      quietChecks = 0;
    }
    const killedAt = options.killSentAt();
    if (killedAt !== null && performance.now() - killedAt > options.giveUpAfterKillMs) return;
    await sleep(interval);
    interval = Math.min(Math.ceil(interval * 1.5), 200);
  }
}

/** How long to keep waiting after SIGKILL for a process stuck in uninterruptible sleep. */
export const GIVE_UP_AFTER_KILL_MS = 10_000;

/** Linux start time of `pid` (clock ticks since boot) as a string; null when it does not exist or off Linux. */
export async function processStartTime(pid: number): Promise<string | null> {
  const stat = await readProcStat(pid);
  return stat === null ? null : stat.startTime;
}

/**
 * Ends a process group left behind by a crashed server, but only if `pid` is
 * still the very process that was recorded (same start time): SIGTERM to its
 * group, SIGKILL after `graceMs`, true once nothing of it runs. A pid that is
 * gone or now belongs to another process is left alone (false), and so is a
 * group where nothing runs any more (only unreaped zombies).
 */
export async function endOrphanGroup(pid: number, startTime: string, graceMs: number): Promise<boolean> {
  if (!isSignallablePid(pid)) return false;
  const stat = await readProcStat(pid);
  if (stat === null || stat.startTime !== startTime) return false;

  // Our sessions lead their own group (pgid = pid). Should the recorded process
  // not lead a group of its own, end that process alone rather than a group
  // whose membership we cannot vouch for.
  const asGroup = stat.pgrp === pid;
  const send = (signal: NodeJS.Signals): void => {
    if (asGroup) signalGroup(pid, signal);
    else signalProcess(pid, signal);
  };
  const state = asGroup ? () => groupState(pid) : () => processState(pid, startTime);
  // Only a zombie is left (its parent never reaped it): nothing runs, nothing to end.
  if ((await state()) !== 'alive') return false;

  send('SIGTERM');
  let killSentAt: number | null = null;
  let over = false;
  const grace = Math.max(0, Number.isFinite(graceMs) ? graceMs : 0);
  const killTimer = setTimeout(() => {
    void (async () => {
      // The group id cannot have been reused while any member of the group is still there.
      if (over || (await state()) === 'gone' || over) return;
      send('SIGKILL');
      killSentAt = performance.now();
    })();
  }, Math.min(grace, 2 ** 31 - 1));
  try {
    await waitForGroupToEnd(pid, { killSentAt: () => killSentAt, giveUpAfterKillMs: GIVE_UP_AFTER_KILL_MS, state });
  } finally {
    over = true;
    clearTimeout(killTimer);
  }
  return true;
}
