import { execFileSync, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGit } from '../../server/sessions/git-command.js';
import { inProcessRunner, SpawnerProcess, type CapturedCommand, type CommandRunner } from '../../server/sessions/spawner/command-spawner.js';
import { processGone } from '../support/processes.js';

/**
 * The spawner process runs git for the server: the same results as spawning
 * from the server itself, errors that say what happened, and a lifetime tied
 * to its parent's.
 */

const SPAWNER_MAIN = fileURLToPath(new URL('../../server/sessions/spawner/spawner-main.js', import.meta.url));
const isRoot = process.getuid?.() === 0;
const NOBODY_UID = 65534;

let tmp: string;
let repo: string;
const spawners: SpawnerProcess[] = [];
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'arbor-spawner-'));
  repo = path.join(tmp, 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@localhost', 'commit', '-q', '--allow-empty', '-m', 'first'], { cwd: repo });
});
afterEach(async () => {
  await Promise.all(spawners.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function newSpawner(): SpawnerProcess {
  const spawner = new SpawnerProcess();
  spawners.push(spawner);
  return spawner;
}

function node(script: string, extra: Partial<CapturedCommand> = {}): CapturedCommand {
  return { file: process.execPath, args: ['-e', script], cwd: tmp, env: { PATH: process.env.PATH ?? '' }, label: 'node in tmp', ...extra };
}

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe.each([
  ['the spawner process', () => newSpawner() as CommandRunner],
  ['this process', () => inProcessRunner],
])('commands run from %s', (_, runnerOf) => {
  it('answers git as git answered: exit code, stdout and stderr, a non-zero exit being a result', async () => {
    const git = createGit(process.env, { spawner: runnerOf() });
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    expect(await git.resolveCommit(repo, 'main')).toBe(head);
    expect(await git.resolveCommit(repo, 'no-such-branch')).toBeNull();
    const failed = await git.run(repo, ['checkout', 'no-such-branch']);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('no-such-branch');
    await expect(git.output(tmp, ['rev-parse', 'HEAD'])).rejects.toThrow(/git rev-parse failed in .*not a git repository/);
    // Only "no such commit" (exit 1, nothing said) is a missing commit; a git that fails otherwise is an error.
    await expect(git.resolveCommit(tmp, 'main')).rejects.toThrow(/not a git repository/);
  });

  it('answers once the command exits, though something it started still holds its output open', async () => {
    // A git hook's background job, say: 'close' would wait for it; the answer must not.
    const script =
      "require('node:child_process').spawn('sleep', ['60'], { stdio: ['ignore', 'inherit', 'inherit'], detached: true }).unref();" +
      "process.stdout.write('answered'); process.exit(0)";
    const result = await runnerOf().run(node(script));
    expect(result).toEqual({ code: 0, stdout: 'answered', stderr: '' });
  });

  it('keeps the beginning of a large output, and says it was cut', async () => {
    const result = await runnerOf().run(node("process.stdout.write('x'.repeat(1_000_000))", { maxStdoutBytes: 1000 }));
    expect(result.truncated).toBe(true);
    expect(result.stdout).toBe('x'.repeat(1000));
  });

  it('keeps bytes that are not ASCII whole', async () => {
    const result = await runnerOf().run(node("process.stdout.write('é ✓ 😀\\n'); process.stderr.write('ü'); process.exit(3)"));
    expect(result).toEqual({ code: 3, stdout: 'é ✓ 😀\n', stderr: 'ü' });
  });

  it('ends a command past its deadline, and one silent for too long, saying which', async () => {
    const runner = runnerOf();
    await expect(runner.run(node('setTimeout(() => {}, 60_000)', { timeoutMs: 300 }))).rejects.toThrow('node in tmp did not finish within 300 ms and was ended');
    await expect(runner.run(node('setTimeout(() => {}, 60_000)', { blockTimeoutMs: 300 }))).rejects.toThrow(
      'node in tmp produced no output for 300 ms and was killed (waiting on a lock?)',
    );
  });

  it('says whether the program or the directory is missing', async () => {
    const runner = runnerOf();
    await expect(runner.run({ ...node(''), file: 'no-such-program-here' })).rejects.toThrow('cannot run node in tmp: no-such-program-here was not found');
    await expect(runner.run({ ...node(''), cwd: path.join(tmp, 'gone') })).rejects.toThrow(`directory does not exist: ${path.join(tmp, 'gone')}`);
  });

  it('refuses arguments no process can take, as an error and not a crash', async () => {
    await expect(runnerOf().run(node('', { args: ['-e', 'a\0b'] }))).rejects.toThrow(/cannot run|null bytes/);
  });

  it.skipIf(!isRoot)('runs a command as another user', async () => {
    const result = await runnerOf().run({ file: 'id', args: ['-u'], cwd: tmp, env: { PATH: process.env.PATH ?? '' }, uid: NOBODY_UID, gid: NOBODY_UID });
    expect(result.stdout.trim()).toBe(String(NOBODY_UID));
  });
});

describe('SpawnerProcess', () => {
  it('runs commands at once, in a process of its own that it starts on the first', async () => {
    const spawner = newSpawner();
    expect(spawner.pid).toBeUndefined();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => spawner.run(node(`process.stdout.write(String(process.ppid) + ' ${i}')`))));
    const pid = spawner.pid;
    expect(pid).toBeDefined();
    expect(pid).not.toBe(process.pid);
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${pid} ${i}`));
  });

  it('rejects what was running when it dies, and starts anew for the next command', async () => {
    const spawner = newSpawner();
    const running = spawner.run(node("process.stdout.write('started'); setTimeout(() => {}, 60_000)"));
    await waitUntil(() => spawner.pid !== undefined);
    const first = spawner.pid!;
    process.kill(first, 'SIGKILL');
    await expect(running).rejects.toThrow('cannot run node in tmp: the process spawner exited (SIGKILL) while it ran');
    const next = await spawner.run(node("process.stdout.write('again')"));
    expect(next.stdout).toBe('again');
    expect(spawner.pid).not.toBe(first);
  });

  it('outlives SIGINT and SIGTERM sent to its process group: its parent decides when it ends', async () => {
    const spawner = newSpawner();
    await spawner.run(node(''));
    const pid = spawner.pid!;
    process.kill(pid, 'SIGTERM');
    process.kill(pid, 'SIGINT');
    expect((await spawner.run(node("process.stdout.write('still here')"))).stdout).toBe('still here');
    expect(spawner.pid).toBe(pid);
  });

  it('ends on close, rejecting what was running; a later command starts another', async () => {
    const spawner = newSpawner();
    const running = spawner.run(node('setTimeout(() => {}, 60_000)'));
    await waitUntil(() => spawner.pid !== undefined);
    const pid = spawner.pid!;
    const rejected = expect(running).rejects.toThrow('the process spawner was closed while it ran');
    await spawner.close();
    await rejected;
    expect(processGone(pid)).toBe(true);
    expect((await spawner.run(node("process.stdout.write('new')"))).stdout).toBe('new');
    expect(spawner.pid).not.toBe(pid);
  });

  it('exits when its parent goes away (the IPC channel closes)', async () => {
    const child = fork(SPAWNER_MAIN, [], { execArgv: [], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    await once(child, 'spawn');
    child.disconnect();
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('refuses to run without a parent to answer', async () => {
    const child = spawn(process.execPath, [SPAWNER_MAIN], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(stderr).toContain('started by Arbor with an IPC channel');
  });

  it('does not keep its parent alive once idle', async () => {
    const script = [
      "import { SpawnerProcess } from './server/sessions/spawner/command-spawner.ts';",
      'const spawner = new SpawnerProcess();',
      "const result = await spawner.run({ file: 'git', args: ['--version'], cwd: process.cwd(), env: { PATH: process.env.PATH } });",
      'console.log(spawner.pid, result.code);',
    ].join('\n');
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    parent.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // The test is that this exit comes at all: a spawner that held the parent would time the test out.
    const [code] = await once(parent, 'exit');
    expect(code).toBe(0);
    const [pid, gitCode] = stdout.trim().split(' ').map(Number);
    expect(gitCode).toBe(0);
    await waitUntil(() => processGone(pid!));
  });
});
