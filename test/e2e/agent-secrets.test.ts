import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitRepo, gitEnv } from '../support/git-repo.js';
import { waitFor } from '../support/orchestration.js';
import { REPO_ROOT, killAllServers, startServer, type ServerProcess } from '../support/server-process.js';

/**
 * The documented boundary: Arbor started as root with ARBOR_AGENT_USER set to
 * an unprivileged user. A real server (embedded Postgres, secrets in its
 * environment and in a token file) runs a goal whose agents try to read every
 * secret; they read none, and still write, commit, and succeed.
 */

const AGENT_USER = 'nobody';
const API_TOKEN = 'api-token-that-agents-must-not-see';
const WEBHOOK_SECRET = 'webhook-secret-that-agents-must-not-see';
const SIGNAL_TOKEN = 'signal-token-that-agents-must-not-see';
const isRoot = process.getuid?.() === 0;

interface Attempt {
  ok?: unknown;
  error?: string;
}
interface ProbeReport {
  uid: number;
  home: Attempt;
  read: Record<string, Attempt>;
  list: Record<string, Attempt>;
}
interface GoalJson {
  goal: { id: string; status: string; branch: string | null };
  tasks: { id: string; key: string; status: string; error: string | null }[];
}

/** git as the test (root) in a repository the agent user owns: trusted for this command only. */
const gitIn = (repo: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'safe.directory=*', ...args], { cwd: repo, env: gitEnv(), encoding: 'utf8' }).trim();

describe.skipIf(!isRoot)('agents under ARBOR_AGENT_USER (needs root: only root can start processes as another user)', () => {
  let tmp: string;
  let dataDir: string;
  let tokenFile: string;
  let repo: string;
  let server: ServerProcess;
  const auth = { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json' };

  beforeAll(async () => {
    tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-agent-user-')));
    dataDir = path.join(tmp, 'data');
    // A place others may pass through, holding a 0600 token file: only the file's mode protects it.
    const secrets = path.join(tmp, 'secrets');
    await chmod(tmp, 0o755);
    await mkdir(secrets, { mode: 0o755 });
    tokenFile = path.join(secrets, 'signal-token');
    await writeFile(tokenFile, `${SIGNAL_TOKEN}\n`, { mode: 0o600 });

    // The repository is writable by the agent user, as the README asks.
    repo = (await createGitRepo({ parent: tmp })).path;
    execFileSync('chown', ['-R', `${AGENT_USER}:`, repo]);

    server = await startServer({
      dataDir,
      env: {
        ARBOR_AGENT: 'command',
        ARBOR_AGENT_COMMAND: `node ${path.join(REPO_ROOT, 'test/fixtures/agent-secrets-probe.mjs')}`,
        ARBOR_AGENT_USER: AGENT_USER,
        ARBOR_API_TOKEN: API_TOKEN,
        ARBOR_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        ARBOR_SIGNAL_TOKEN_FILE: tokenFile,
        ARBOR_POLL_INTERVAL_MS: '100',
        ARBOR_SPAWN_PER_SECOND: '0',
      },
    });
  }, 120_000);

  afterAll(async () => {
    if (server) await server.stop('SIGTERM').catch(() => undefined);
    await killAllServers();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 120_000);

  it('reads no secret, yet writes, commits and succeeds, in a spawned and in a pinned session', { timeout: 120_000 }, async () => {
    const pgPassword = path.join(dataDir, 'pg-password');
    const instructions = [
      `probe-read: /proc/${server.pid}/environ`,
      `probe-read: ${pgPassword}`,
      `probe-read: ${tokenFile}`,
      `probe-list: ${dataDir}`,
    ].join('\n');
    const res = await fetch(`${server.url}/api/goals`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        title: 'Probe for secrets',
        repo,
        base_ref: 'main',
        tasks: [
          { key: 'spawned', title: 'Spawned probe', instructions, session_policy: 'spawn' },
          { key: 'pinned', title: 'Pinned probe', instructions, session_policy: 'pinned' },
        ],
      }),
    });
    expect(res.status).toBe(201);
    const goalId = ((await res.json()) as GoalJson).goal.id;

    const goal = await waitFor(
      'the goal to end',
      async () => {
        const body = (await (await fetch(`${server.url}/api/goals/${goalId}`, { headers: auth })).json()) as GoalJson;
        return ['succeeded', 'failed'].includes(body.goal.status) || body.tasks.some((t) => t.status === 'blocked') ? body : undefined;
      },
      90_000,
    );
    expect(goal.tasks.map((t) => [t.key, t.status, t.error]), server.output().slice(-4000)).toEqual([
      ['spawned', 'succeeded', null],
      ['pinned', 'succeeded', null],
    ]);
    expect(goal.goal.status).toBe('succeeded');

    const nobodyUid = Number(execFileSync('id', ['-u', AGENT_USER], { encoding: 'utf8' }).trim());
    const secrets = [API_TOKEN, WEBHOOK_SECRET, SIGNAL_TOKEN, (await readFile(pgPassword, 'utf8')).trim()];
    for (const task of goal.tasks) {
      // The agent's own commit holds its report, on the goal branch.
      const text = gitIn(repo, 'show', `${goal.goal.branch}:probe-${task.id}.json`);
      const report = JSON.parse(text) as ProbeReport;
      expect(report.uid).toBe(nobodyUid);
      expect(report.home.error, 'HOME is writable').toBeUndefined();
      // Its parent is Arbor: /proc/$PPID/environ and /proc/<Arbor's pid>/environ are one file.
      expect(Object.keys(report.read).sort()).toEqual([`/proc/${server.pid}/environ`, pgPassword, tokenFile].sort());
      for (const [file, attempt] of Object.entries(report.read)) expect(attempt, `read ${file}`).toEqual({ error: 'EACCES' });
      expect(report.list[dataDir]).toEqual({ error: 'EACCES' });
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(gitIn(repo, 'log', '--format=%an %s', goal.goal.branch!)).toContain(`Agent probe probe-${task.id}.json`);
    }
  });
});
