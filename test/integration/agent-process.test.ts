import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  childEnvironment,
  endOrphanGroup,
  processStartTime,
  startAgentProcess,
  type AgentProcess,
  type AgentProcessOptions,
  type OutputFlow,
} from '../../server/sessions/agent-process.js';
import { resolveAgentUser } from '../../server/sessions/agent-user.js';
import { parseProcStat } from '../../server/sessions/process-group.js';

/**
 * Real processes only: node fixture scripts under test/fixtures/proc-*.mjs.
 * No assertion is about how long anything takes; waits are generous.
 */

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const fixture = (name: string): string => join(fixtures, name);
const linux = process.platform === 'linux';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'arbor-proc-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface Run {
  process: AgentProcess;
  lines: { stream: 'stdout' | 'stderr'; line: string }[];
  stdout(): string[];
  stderr(): string[];
  /** Resolves with the first stdout/stderr line that matches. */
  waitForLine(match: RegExp): Promise<string>;
}

const running: AgentProcess[] = [];
/** Processes a test learned about (grandchildren, orphans), ended after each test if still there. */
const strays: { pid: number; startTime: string | null }[] = [];

afterEach(async () => {
  await Promise.all(
    running.splice(0).map((started) => {
      started.stop();
      return started.done;
    }),
  );
  for (const stray of strays.splice(0)) {
    if (stray.startTime !== null && (await processStartTime(stray.pid)) === stray.startTime) {
      try {
        process.kill(stray.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

function run(args: string[], overrides: Partial<AgentProcessOptions> = {}): Run {
  const lines: Run['lines'] = [];
  const waiters: { match: RegExp; resolve: (line: string) => void }[] = [];
  const started = startAgentProcess({
    file: process.execPath,
    args,
    cwd: scratch,
    env: childEnvironment(process.env, {}),
    stdin: '',
    timeoutMs: 0,
    stallMs: 0,
    killGraceMs: 5_000,
    onLine(stream, line) {
      lines.push({ stream, line });
      for (const waiter of waiters.slice()) {
        if (waiter.match.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    },
    ...overrides,
  });
  running.push(started);
  return {
    process: started,
    lines,
    stdout: () => lines.filter((l) => l.stream === 'stdout').map((l) => l.line),
    stderr: () => lines.filter((l) => l.stream === 'stderr').map((l) => l.line),
    waitForLine(match) {
      const seen = lines.find((l) => match.test(l.line));
      if (seen) return Promise.resolve(seen.line);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

/** Gone: no such process, or a zombie nobody reaps (PID 1 in a container may never reap orphans). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return stat !== null && stat.state === 'Z';
  } catch {
    return true;
  }
}

async function remember(pid: number): Promise<void> {
  strays.push({ pid, startTime: await processStartTime(pid) });
}

function pidIn(line: string): number {
  const pid = Number(line.split(' ').pop());
  expect(Number.isInteger(pid) && pid > 1).toBe(true);
  return pid;
}

describe('agent process: scheduling priority', () => {
  it('runs the agent and what it starts nicer than Arbor, its autogroup too where the kernel has them', async () => {
    // The agent waits for its prompt (written after the spawn) before it looks, as a real one reads it first.
    const script = 'read prompt; echo "self $(nice)"; sh -c \'echo "child $(nice)"\'; [ -e /proc/self/autogroup ] && cat /proc/self/autogroup || true';
    const r = run(['-c', script], { file: '/bin/sh', stdin: 'go\n', nice: 7 });
    expect((await r.process.done).reason).toBe('exited');
    const own = os.getPriority();
    expect(r.stdout().slice(0, 2)).toEqual([`self ${Math.max(own, 7)}`, `child ${Math.max(own, 7)}`]);
    if (existsSync('/proc/self/autogroup')) expect(r.stdout()[2]).toMatch(/^\/autogroup-\d+ nice 7$/);

    const plain = run(['-c', 'read prompt; echo "self $(nice)"'], { file: '/bin/sh', stdin: 'go\n' });
    await plain.process.done;
    expect(plain.stdout()).toEqual([`self ${own}`]);
  });
});

describe('agent process: output and exit', () => {
  it('exit 0: lines arrive in order per stream, CRLF and a final unterminated line included', async () => {
    const r = run([fixture('proc-lines.mjs'), '--lines', '5', '--stderr', '2', '--crlf', '--tail', 'no newline']);
    const end = await r.process.done;
    expect(end).toEqual({ reason: 'exited', exitCode: 0, signal: null, error: null });
    expect(r.stdout()).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4', 'no newline']);
    expect(r.stderr()).toEqual(['err 0', 'err 1']);
    const started = await r.process.started;
    expect(started?.pid).toBe(r.process.pid);
    if (linux) expect(started?.startTime).toMatch(/^\d+$/);
  });

  it('exit code 3 is an exit, with its code', async () => {
    const r = run([fixture('proc-lines.mjs'), '--lines', '1', '--exit', '3']);
    expect(await r.process.done).toEqual({ reason: 'exited', exitCode: 3, signal: null, error: null });
    expect(r.stdout()).toEqual(['line 0']);
  });

  it('delivers all of a huge output (200k lines) in order', async () => {
    const count = 200_000;
    const r = run([fixture('proc-lines.mjs'), '--lines', String(count)]);
    const end = await r.process.done;
    expect(end.reason).toBe('exited');
    const out = r.stdout();
    expect(out.length).toBe(count);
    let inOrder = true;
    for (let i = 0; i < count; i += 1) if (out[i] !== `line ${i}`) inOrder = false;
    expect(inOrder).toBe(true);
  }, 120_000);

  it('splits a line longer than 64 KiB into pieces', async () => {
    const length = 200_000;
    const r = run([fixture('proc-lines.mjs'), '--lines', '0', '--long', String(length), '--tail', 'after']);
    await r.process.done;
    const out = r.stdout();
    expect(out.map((piece) => piece.length)).toEqual([65_536, 65_536, 65_536, length - 3 * 65_536, 5]);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz';
    expect(out.slice(0, 4).join('')).toBe(alphabet.repeat(Math.ceil(length / 26)).slice(0, length));
    expect(out[4]).toBe('after');
  });

  it('writes a 5 MB prompt to stdin and the child reads all of it', async () => {
    const prompt = randomBytes(5 * 1024 * 1024 * 0.75).toString('base64');
    expect(prompt.length).toBeGreaterThanOrEqual(5 * 1024 * 1024);
    const r = run([fixture('proc-stdin.mjs')], { stdin: prompt });
    expect((await r.process.done).reason).toBe('exited');
    expect(r.stdout()).toEqual([
      `bytes ${Buffer.byteLength(prompt)}`,
      `sha256 ${createHash('sha256').update(prompt).digest('hex')}`,
    ]);
  }, 60_000);

  it('a child that never reads its stdin does not break anything (EPIPE)', async () => {
    const r = run([fixture('proc-stdin.mjs'), '--ignore'], { stdin: 'x'.repeat(5 * 1024 * 1024) });
    expect(await r.process.done).toEqual({ reason: 'exited', exitCode: 0, signal: null, error: null });
    expect(r.stdout()).toEqual(['not reading']);
  });

  it('the child environment has no CLAUDECODE', async () => {
    const env = childEnvironment({ ...process.env, CLAUDECODE: '1' }, { ARBOR_TASK_ID: 't1' });
    const r = run([fixture('proc-lines.mjs'), '--lines', '0', '--env', 'CLAUDECODE'], { env });
    await r.process.done;
    expect(r.stdout()).toEqual(['env CLAUDECODE unset']);
    const r2 = run([fixture('proc-lines.mjs'), '--lines', '0', '--env', 'ARBOR_TASK_ID'], { env });
    await r2.process.done;
    expect(r2.stdout()).toEqual(['env ARBOR_TASK_ID=t1']);
  });
});

describe('agent process: ending it', () => {
  it('a timeout ends the whole group, grandchild included', async () => {
    const r = run([fixture('proc-grandchild.mjs')], { timeoutMs: 1_500, killGraceMs: 5_000 });
    const grandchild = pidIn(await r.waitForLine(/^grandchild \d+$/));
    await remember(grandchild);
    const end = await r.process.done;
    expect(end.reason).toBe('timed_out');
    expect(end.signal).toBe('SIGTERM');
    expect(isGone(grandchild)).toBe(true);
    expect(isGone(r.process.pid!)).toBe(true);
  });

  it('a grandchild that ignores SIGTERM is SIGKILLed after the grace, and done waits for it', async () => {
    const r = run([fixture('proc-grandchild.mjs'), '--stubborn'], { killGraceMs: 500 });
    const grandchild = pidIn(await r.waitForLine(/^grandchild \d+$/));
    await remember(grandchild);
    await r.waitForLine(/^grandchild-ready$/);
    r.process.stop();
    const end = await r.process.done;
    expect(end.reason).toBe('stopped');
    expect(isGone(grandchild)).toBe(true);
  });

  it('a leader that exits by itself: leftovers in its group are ended, pipes they hold do not block done', async () => {
    const r = run([fixture('proc-grandchild.mjs'), '--leader-exits']);
    const end = await r.process.done;
    expect(end).toEqual({ reason: 'exited', exitCode: 0, signal: null, error: null });
    const grandchild = pidIn(r.stdout().find((line) => line.startsWith('grandchild '))!);
    await remember(grandchild);
    expect(isGone(grandchild)).toBe(true);
  });

  it('a process that left the group but holds stdout open does not block done forever', async () => {
    const r = run([fixture('proc-grandchild.mjs'), '--leader-exits', '--escape']);
    const grandchild = pidIn(await r.waitForLine(/^grandchild \d+$/));
    await remember(grandchild);
    expect(await r.process.done).toEqual({ reason: 'exited', exitCode: 0, signal: null, error: null });
    // Out of the group, out of reach: a known limit (the test's cleanup ends it).
    expect(isGone(grandchild)).toBe(false);
  });

  it('no output for the stall time ends it as stalled', async () => {
    const r = run([fixture('proc-hang.mjs')], { stallMs: 500 });
    await r.waitForLine(/^ready /);
    const end = await r.process.done;
    expect(end.reason).toBe('stalled');
    expect(end.signal).toBe('SIGTERM');
  });

  it('steady output keeps the stall timer from firing; the timeout still applies', async () => {
    const r = run([fixture('proc-hang.mjs'), '--tick', '20'], { stallMs: 5_000, timeoutMs: 1_000 });
    const end = await r.process.done;
    expect(end.reason).toBe('timed_out');
    expect(r.stdout().filter((line) => line.startsWith('tick ')).length).toBeGreaterThan(0);
  });

  it('a child that ignores SIGTERM is SIGKILLed after the grace; the reason stays', async () => {
    const r = run([fixture('proc-hang.mjs'), '--ignore-term'], { killGraceMs: 500 });
    await r.waitForLine(/^ready /);
    r.process.stop();
    const end = await r.process.done;
    expect(end).toEqual({ reason: 'stopped', exitCode: null, signal: 'SIGKILL', error: null });
    expect(r.stdout()).toContain('got SIGTERM');
  });

  it('stop() ends it as stopped; stop is idempotent and the first reason wins', async () => {
    const r = run([fixture('proc-hang.mjs')]);
    await r.waitForLine(/^ready /);
    r.process.stop();
    r.process.stop('timed_out');
    r.process.stop();
    expect(await r.process.done).toEqual({ reason: 'stopped', exitCode: null, signal: 'SIGTERM', error: null });
    r.process.stop(); // after the end: nothing happens
    r.process.finishSoon(0);
  });

  it('finishSoon ends a lingering child and reports it as exited', async () => {
    const r = run([fixture('proc-hang.mjs')], { timeoutMs: 60_000 });
    await r.waitForLine(/^ready /);
    r.process.finishSoon(200);
    expect(await r.process.done).toEqual({ reason: 'exited', exitCode: null, signal: 'SIGTERM', error: null });
  });

  it('finishSoon on a child that exits by itself within the grace reports its own exit', async () => {
    const r = run([fixture('proc-stdin.mjs')], { stdin: 'hello' });
    r.process.finishSoon(60_000);
    expect(await r.process.done).toEqual({ reason: 'exited', exitCode: 0, signal: null, error: null });
  });

  it('finishSoon disarms the timeout: a lingering child is ended by the finish grace and reported as exited', async () => {
    const r = run([fixture('proc-hang.mjs')], { timeoutMs: 200 });
    r.process.finishSoon(1_500);
    expect(await r.process.done).toEqual({ reason: 'exited', exitCode: null, signal: 'SIGTERM', error: null });
  });

  it('stop() during the finish grace ends the group at once; the end stays exited', async () => {
    const r = run([fixture('proc-hang.mjs')]);
    await r.waitForLine(/^ready /);
    r.process.finishSoon(600_000);
    r.process.stop('timed_out');
    expect(await r.process.done).toEqual({ reason: 'exited', exitCode: null, signal: 'SIGTERM', error: null });
  });

  it('of two finishSoon graces the earlier deadline wins', async () => {
    const r = run([fixture('proc-hang.mjs')]);
    await r.waitForLine(/^ready /);
    r.process.finishSoon(600_000);
    r.process.finishSoon(100);
    r.process.finishSoon(600_000);
    expect(await r.process.done).toEqual({ reason: 'exited', exitCode: null, signal: 'SIGTERM', error: null });
  });

  it('after finishSoon, a child that ignores SIGTERM is SIGKILLed after the grace and still reported as exited', async () => {
    const r = run([fixture('proc-hang.mjs'), '--ignore-term'], { killGraceMs: 300 });
    await r.waitForLine(/^ready /);
    r.process.finishSoon(0);
    expect(await r.process.done).toEqual({ reason: 'exited', exitCode: null, signal: 'SIGKILL', error: null });
    expect(r.stdout()).toContain('got SIGTERM');
  });

  it('a leader that exits by itself while a leftover ignores SIGTERM: the leftover is SIGKILLed, done waits for it', async () => {
    // The leader exits only once the grandchild ignores SIGTERM, so the SIGKILL after the grace is what ends it.
    const grandchildScript = "process.on('SIGTERM', () => {}); setInterval(() => {}, 60000); console.log('ready')";
    const leaderScript = [
      "const { spawn } = require('node:child_process');",
      `const g = spawn(process.execPath, ['-e', ${JSON.stringify(grandchildScript)}], { stdio: ['ignore', 'pipe', 'inherit'] });`,
      "g.stdout.once('data', () => { console.log('grandchild ' + g.pid); process.exit(0); });",
    ].join('\n');
    const r = run(['-e', leaderScript], { killGraceMs: 300 });
    const grandchild = pidIn(await r.waitForLine(/^grandchild \d+$/));
    await remember(grandchild);
    expect(await r.process.done).toEqual({ reason: 'exited', exitCode: 0, signal: null, error: null });
    expect(isGone(grandchild)).toBe(true);
  });

  it('a child killed by a signal nobody here sent is reported as killed', async () => {
    const r = run([fixture('proc-hang.mjs')]);
    const pid = pidIn(await r.waitForLine(/^ready \d+$/));
    expect(pid).toBe(r.process.pid);
    process.kill(pid, 'SIGKILL');
    expect(await r.process.done).toEqual({ reason: 'killed', exitCode: null, signal: 'SIGKILL', error: null });
  });
});

describe('agent process: failing to start', () => {
  it('a missing binary fails at once with "agent CLI not found"', async () => {
    const missing = join(scratch, 'no-such-agent');
    const r = run([], { file: missing });
    expect(r.process.pid).toBeNull();
    expect(await r.process.started).toBeNull();
    expect(await r.process.done).toEqual({
      reason: 'failed_to_start',
      exitCode: null,
      signal: null,
      error: `agent CLI not found: ${missing}`,
    });
    r.process.stop();
    r.process.finishSoon(0);
  });

  it('a bare command name missing from PATH fails the same way', async () => {
    const r = run([], { file: 'arbor-no-such-agent-cli' });
    expect((await r.process.done).error).toBe('agent CLI not found: arbor-no-such-agent-cli');
  });

  it('a file that is not executable fails with "agent CLI is not executable"', async () => {
    const file = join(scratch, 'not-executable');
    await writeFile(file, '#!/bin/sh\necho hi\n');
    await chmod(file, 0o644);
    const r = run([], { file });
    expect(await r.process.done).toMatchObject({
      reason: 'failed_to_start',
      error: `agent CLI is not executable: ${file}`,
    });
  });

  it('a missing working directory is named as such', async () => {
    const cwd = join(scratch, 'no-such-dir');
    const r = run([fixture('proc-lines.mjs')], { cwd });
    expect(await r.process.done).toMatchObject({ reason: 'failed_to_start', error: `working directory not found: ${cwd}` });
  });
});

describe.runIf(linux)('process start time and orphans', () => {
  it('parses /proc/<pid>/stat even when the command name has spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[0] = 'S';
    fields[2] = '4242';
    const stat = parseProcStat(`4242 (a) (b ) c)) ${fields.join(' ')}\n`);
    expect(stat).toMatchObject({ state: 'S', pgrp: 4242, startTime: '22' });
    expect(parseProcStat('garbage')).toBeNull();
  });

  it('processStartTime is stable for a live pid (even with a strange name) and null for a dead one', async () => {
    const r = run([fixture('proc-hang.mjs'), '--title', 'a) (b c)']);
    const pid = pidIn(await r.waitForLine(/^ready \d+$/));
    const first = await processStartTime(pid);
    expect(first).toMatch(/^\d+$/);
    expect((await r.process.started)?.startTime).toBe(first);
    expect(await processStartTime(pid)).toBe(first);
    r.process.stop();
    await r.process.done;
    expect(await processStartTime(pid)).toBeNull();
    expect(await processStartTime(process.pid)).toMatch(/^\d+$/);
  });

  it('endOrphanGroup refuses a wrong start time and ends a group whose start time matches', async () => {
    const launcher = spawn(process.execPath, [fixture('proc-orphan.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    launcher.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await new Promise((resolve) => launcher.once('close', resolve));
    const match = /^leader (\d+) member (\d+)$/m.exec(output);
    expect(match).not.toBeNull();
    const leader = Number(match![1]);
    const member = Number(match![2]);
    await remember(member);
    await remember(leader);

    const startTime = await processStartTime(leader);
    expect(startTime).toMatch(/^\d+$/);
    const wrong = String(BigInt(startTime!) + 1n);
    expect(await endOrphanGroup(leader, wrong, 500)).toBe(false);
    expect(isGone(leader)).toBe(false);
    expect(isGone(member)).toBe(false);

    expect(await endOrphanGroup(leader, startTime!, 500)).toBe(true);
    expect(isGone(leader)).toBe(true);
    expect(isGone(member)).toBe(true);
    // Once gone it is never touched again.
    expect(await endOrphanGroup(leader, startTime!, 500)).toBe(false);
  });
});

describe.runIf(linux && process.getuid?.() === 0)('agent process: as another user', () => {
  it("runs with the user's uid, gid and HOME, and is still ended as a group", async () => {
    // The user must be able to pass through to its home under the data dir.
    const base = await mkdtemp(join(tmpdir(), 'arbor-proc-user-'));
    await chmod(base, 0o711);
    try {
      const user = resolveAgentUser('nobody', { dataDir: join(base, 'data'), ownUid: 0 })!;
      // A shell, not this Node: the Node running the tests may live where the user cannot reach
      // (e.g. under root's home, as `npx -p node@22` puts it).
      const script = 'echo "id $(id -u) $(id -g) $HOME $USER"; exec sleep 60';
      const r = run(['-c', script], { user, cwd: user.home, file: '/bin/sh' });
      expect(await r.waitForLine(/^id /)).toBe(`id ${user.uid} ${user.gid} ${user.home} ${user.name}`);
      r.process.stop();
      expect(await r.process.done).toEqual({ reason: 'stopped', exitCode: null, signal: 'SIGTERM', error: null });
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe('childEnvironment', () => {
  it('drops CLAUDECODE and CLAUDE_CODE_ENTRYPOINT and undefined values, and adds the extras', () => {
    const env = childEnvironment(
      { PATH: '/bin', HOME: '/home/x', CLAUDECODE: '1', CLAUDE_CODE_ENTRYPOINT: 'cli', GONE: undefined },
      { ARBOR_TASK_ID: 't', HOME: '/home/y' },
    );
    expect(env).toEqual({ PATH: '/bin', HOME: '/home/y', ARBOR_TASK_ID: 't' });
  });

  it('never lets CLAUDECODE through, even among the extras', () => {
    expect(childEnvironment({}, { CLAUDECODE: '1' })).toEqual({});
  });
});

/** An OutputFlow the test opens by hand. */
class HeldFlow implements OutputFlow {
  holding = true;
  private readonly listeners = new Set<() => void>();
  onRelease(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  release(): void {
    this.holding = false;
    for (const listener of this.listeners) listener();
  }
}

describe('agent process: backpressure', () => {
  it('while the consumer holds, the pipes are paused (the agent waits) and the stall timer does not count it', async () => {
    const total = 200_000;
    const flow = new HeldFlow();
    const stallMs = 300;
    const r = run([fixture('proc-lines.mjs'), '--lines', String(total)], { stallMs, flow });
    await r.waitForLine(/^line 0$/);
    // Held for several stall periods: without the pause every line would be in by now; with a
    // stall timer that counted the pause, the agent would be ended as stalled.
    await new Promise((resolve) => setTimeout(resolve, stallMs * 4));
    const deliveredWhileHeld = r.lines.length;
    flow.release();
    const end = await r.process.done;
    expect(deliveredWhileHeld).toBeLessThan(total);
    expect(end).toEqual({ reason: 'exited', exitCode: 0, signal: null, error: null });
    expect(r.stdout().length).toBe(total);
    expect(r.stdout().at(-1)).toBe(`line ${total - 1}`);
  });

  it('a group stopped while held ends all the same', async () => {
    const flow = new HeldFlow();
    const r = run([fixture('proc-lines.mjs'), '--lines', '200000'], { flow });
    await r.waitForLine(/^line 0$/);
    r.process.stop();
    expect(await r.process.done).toMatchObject({ reason: 'stopped' });
  });
});
