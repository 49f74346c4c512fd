import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * What the kernel says about a process on this host (Linux /proc): its state,
 * group and start time. A pid with its start time names one process for good;
 * a pid alone may have been reused after a crash. Used by sessions (to end
 * exactly the agents they started) and by the orchestrator (to tell whether
 * another Arbor process on this host is still alive).
 */

const isLinux = process.platform === 'linux';

export interface ProcStat {
  /** One letter: R, S, D, Z (zombie), X (dead), T, ... */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Field 22: start time after boot, in clock ticks, kept as a string. */
  startTime: string;
}

/**
 * Parses the text of /proc/<pid>/stat. The second field (comm) is the
 * executable name in parentheses and may itself contain spaces and
 * parentheses, so the fields after it are found from the LAST ')'.
 */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close === -1) return null;
  // After ") " come fields 3 (state), 4 (ppid), 5 (pgrp), 6 (session) ... 22 (starttime).
  const fields = text.slice(close + 1).trim().split(/\s+/);
  const state = fields[0];
  const ppid = fields[1];
  const pgrp = fields[2];
  const session = fields[3];
  const startTime = fields[19];
  if (state === undefined || ppid === undefined || pgrp === undefined || session === undefined || startTime === undefined) {
    return null;
  }
  if (!/^\d+$/.test(startTime) || !/^-?\d+$/.test(pgrp) || !/^-?\d+$/.test(ppid) || !/^-?\d+$/.test(session)) {
    return null;
  }
  return { state, ppid: Number(ppid), pgrp: Number(pgrp), session: Number(session), startTime };
}

/** A pid we may signal as a process or as a group: never 0, 1 or negative (kill(-1) hits everything). */
export function isSignallablePid(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 1;
}

export async function readProcStat(pid: number): Promise<ProcStat | null> {
  if (!isLinux || !isSignallablePid(pid)) return null;
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Synchronous variant, used right after spawn(): within the same tick the
 * child cannot have been reaped yet, so its /proc entry is certain to exist.
 */
export function readProcStatSync(pid: number): ProcStat | null {
  if (!isLinux || !isSignallablePid(pid)) return null;
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Whether the process that started at `startTime` as `pid` still runs (a
 * zombie does not). Off Linux, or with no start time on record, only the pid
 * can be asked, and a live pid counts.
 */
export function processIsAlive(pid: number, startTime: string | null): boolean {
  if (!isSignallablePid(pid)) return false;
  if (isLinux && startTime !== null) {
    const stat = readProcStatSync(pid);
    return stat !== null && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X' && stat.state !== 'x';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This process as the kernel knows it. */
export function ownProcess(): { pid: number; startTime: string | null } {
  return { pid: process.pid, startTime: readProcStatSync(process.pid)?.startTime ?? null };
}
