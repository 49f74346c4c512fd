import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * The real agent CLIs, installed from npm by the test suite on first use (they
 * are ~400 MB each, so they are not dependencies of a plain `npm install`).
 * Each lands in its own directory of a per-user cache (outside node_modules,
 * which `npm ci` wipes) and is reused from then on; a lock directory keeps two test files from installing the same
 * one at once, and an install is moved into place only when it is complete.
 */

/** The versions the real-CLI suite proves Arbor with. The Dockerfile pins the same ones. */
export const REAL_CLI_VERSIONS = {
  claude: { pkg: '@anthropic-ai/claude-code', version: '2.1.332', bin: 'claude' },
  codex: { pkg: '@openai/codex', version: '0.171.0', bin: 'codex' },
} as const;

export type RealCliName = keyof typeof REAL_CLI_VERSIONS;

export const REAL_CLI_CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'arbor-real-clis');

const run = promisify(execFile);
const LOCK_WAIT_MS = 10 * 60_000;

/** Path of the installed CLI's executable; installs it first when the cache does not have it. */
export async function installRealCli(name: RealCliName): Promise<string> {
  const { pkg, version, bin } = REAL_CLI_VERSIONS[name];
  const dir = path.join(REAL_CLI_CACHE, `${name}@${version}`);
  const executable = path.join(dir, 'node_modules', '.bin', bin);
  if (existsSync(executable)) return executable;

  await mkdir(REAL_CLI_CACHE, { recursive: true });
  const lock = `${dir}.lock`;
  await acquireLock(lock);
  try {
    if (existsSync(executable)) return executable; // installed by whoever held the lock
    const staging = await mkdtemp(`${dir}.installing-`);
    try {
      await run('npm', ['install', '--prefix', staging, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `${pkg}@${version}`], {
        timeout: 5 * 60_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
  if (!existsSync(executable)) throw new Error(`npm installed ${pkg}@${version} but ${executable} is missing`);
  return executable;
}

export interface RealClisAvailability {
  /** The executable of each CLI, or why it could not be installed. */
  bins: Partial<Record<RealCliName, string>>;
  problem: string | null;
}

/**
 * Installs what a test file needs. When that is impossible (no registry), the
 * file's tests are skipped with a warning that says why — except under CI=true,
 * where a missing CLI fails the run: a skipped suite must never pass as green.
 */
export async function requireRealClis(...names: RealCliName[]): Promise<RealClisAvailability> {
  const bins: Partial<Record<RealCliName, string>> = {};
  try {
    for (const name of names) bins[name] = await installRealCli(name);
    return { bins, problem: null };
  } catch (err) {
    const npmSaid = String((err as { stderr?: unknown }).stderr ?? '')
      .split('\n')
      .filter((line) => line.startsWith('npm error'))
      .slice(0, 2)
      .join(' | ');
    const problem = `the real agent CLIs could not be installed from npm (${(err as Error).message.split('\n')[0]}${npmSaid ? `: ${npmSaid}` : ''})`;
    if (process.env.CI === 'true') throw new Error(`${problem}; CI=true, so this fails instead of skipping`);
    process.stderr.write(`\n!!! SKIPPING the real-CLI tests: ${problem}. Set CI=true to make this a failure.\n\n`);
    return { bins, problem };
  }
}

/** mkdir is atomic: whoever creates the directory holds the lock. A lock whose owner died is taken over. */
async function acquireLock(lock: string): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(path.join(lock, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number(await readFile(path.join(lock, 'pid'), 'utf8').catch(() => ''));
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`waited ${LOCK_WAIT_MS / 1000} s for ${lock}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The model Claude Code asks the stub for (its price is in model-stubs/anthropic.ts). */
export const CLAUDE_MODEL = 'claude-sonnet-4-5';

/** Environment that points Claude Code at a stub and keeps it off the network (no telemetry, updates, error reports). */
export function claudeEnvironment(stubUrl: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: stubUrl,
    ANTHROPIC_API_KEY: 'sk-ant-stub',
    ANTHROPIC_MODEL: CLAUDE_MODEL,
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    // Fail fast: the stub's errors are scripted, retrying them only slows the test.
    CLAUDE_CODE_MAX_RETRIES: '1',
  };
}

/**
 * A CODEX_HOME whose config.toml makes Codex use the stub as its model provider
 * and turns off everything that would reach GitHub or ChatGPT hosts.
 */
export async function codexEnvironment(stubUrl: string, home: string): Promise<Record<string, string>> {
  await mkdir(home, { recursive: true });
  await writeFile(
    path.join(home, 'config.toml'),
    [
      'model = "gpt-5"',
      'model_provider = "stub"',
      'check_for_update_on_startup = false',
      '',
      '[model_providers.stub]',
      'name = "stub"',
      `base_url = "${stubUrl}/v1"`,
      'wire_api = "responses"',
      'env_key = "STUB_OPENAI_API_KEY"',
      // Fail fast, as for Claude Code above.
      'request_max_retries = 0',
      'stream_max_retries = 0',
      'stream_idle_timeout_ms = 300000',
      '',
      '[analytics]',
      'enabled = false',
      '',
      '[otel]',
      'exporter = "none"',
      'trace_exporter = "none"',
      'metrics_exporter = "none"',
      '',
      '[features]',
      'plugins = false',
      'apps = false',
      '',
    ].join('\n'),
  );
  return { CODEX_HOME: home, STUB_OPENAI_API_KEY: 'sk-stub' };
}
