import { spawn } from 'node:child_process';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo } from '../support/git-repo.js';
import { waitFor } from '../support/orchestration.js';
import { REPO_ROOT, killAllServers, startServer, type ServerProcess } from '../support/server-process.js';

/**
 * The real `arbor` binary (bin/arbor.js, as `npx arbor` runs it) against the
 * real server with the example agent: a goal from YAML to succeeded through
 * the CLI alone — create, list, watch, logs, reject with feedback, approve,
 * signal — and the exit codes and messages of bad input.
 */

let database: TestDatabase;
let tmp: string;
let server: ServerProcess;
let repo: string;

beforeAll(async () => {
  database = await createTestDatabase();
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-cli-')));
  repo = (await createGitRepo({ parent: tmp })).path;
  server = await startServer({
    dataDir: path.join(tmp, 'data'),
    databaseUrl: database.url,
    env: {
      ARBOR_AGENT: 'command',
      ARBOR_AGENT_COMMAND: `node ${path.join(REPO_ROOT, 'examples/agent.mjs')}`,
      ARBOR_WORKTREE_ROOT: path.join(tmp, 'worktrees'),
      ARBOR_POLL_INTERVAL_MS: '100',
      ARBOR_SPAWN_PER_SECOND: '0',
    },
  });
});

afterAll(async () => {
  if (server) await server.stop('SIGTERM').catch(() => undefined);
  await killAllServers();
  await database?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `arbor …` as a child process, with ARBOR_URL pointing at the test's server. */
function launch(args: string[], options: { input?: string; env?: Record<string, string> } = {}): { output(): string; done: Promise<Run> } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('ARBOR_')) delete env[name];
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/arbor.js'), ...args], {
    cwd: tmp,
    env: { ...env, ARBOR_URL: server.url, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  const done = new Promise<Run>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { output: () => stdout, done };
}

function arbor(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return launch(args, options).done;
}

async function arborJson<T>(args: string[]): Promise<T> {
  const run = await arbor([...args, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

interface GoalJson {
  goal: { id: string; status: string; title: string };
  tasks: { id: string; key: string; status: string; attempt: number }[];
}

/** Waits (reading the API directly: quicker than a CLI process per look) until `ready` holds for the goal. */
async function waitForGoal(goalId: string, what: string, ready: (tasks: Record<string, GoalJson['tasks'][number]>) => boolean): Promise<GoalJson> {
  return waitFor(
    what,
    async () => {
      const shown = (await (await fetch(`${server.url}/api/goals/${goalId}`)).json()) as GoalJson;
      const stuck = shown.tasks.find((t) => t.status === 'failed' || t.status === 'blocked');
      if (stuck) throw new Error(`task ${stuck.key} is ${stuck.status}\n${server.output().slice(-4000)}`);
      return ready(Object.fromEntries(shown.tasks.map((t) => [t.key, t]))) ? shown : undefined;
    },
    90_000,
  );
}

const GOAL_YAML = (repoPath: string) => `
title: Dark mode from the CLI
repo: ${repoPath}
base_ref: main
tasks:
  - key: build
    title: Build the theme
    instructions: Add the dark palette.
    session_policy: spawn
  - key: review
    title: Look at it
    kind: human_review
  - key: ci
    title: CI green
    kind: wait_for_signal
    gate:
      type: gh_ci
      pr_url: https://github.com/acme/web/pull/42
`;

it('takes a goal from a YAML file to succeeded with the CLI alone', { timeout: 240_000 }, async () => {
  const file = path.join(tmp, 'goal.yaml');
  await writeFile(file, GOAL_YAML(repo));
  const created = await arbor(['goal', 'create', '-f', 'goal.yaml']);
  expect(created.code, created.stderr).toBe(0);
  const goalId = /^created goal ([0-9a-f-]{36})$/m.exec(created.stdout)?.[1];
  expect(goalId, created.stdout).toBeDefined();
  expect(created.stdout).toMatch(/├─ . build\s+\w+\s+Build the theme/);
  expect(created.stdout).toContain('waits for gh_ci acme/web#42');

  // Watch, as a script would (stdout is a pipe: plain lines), until the goal ends; what happens from its
  // first drawing on is in its output.
  const watching = launch(['watch', goalId!]);
  await waitFor('the watch to draw the tree', () => watching.output().includes('└─ ○ ci'), 60_000);

  const table = await arbor(['goals']);
  expect(table.code, table.stderr).toBe(0);
  expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+AGE\s+COST\s+TITLE$/);
  expect(table.stdout).toMatch(new RegExp(`^${goalId}\\s+(pending|running)\\s+\\d+[smhd]\\s+-\\s+Dark mode from the CLI$`, 'm'));
  const listed = await arborJson<{ goals: { id: string }[] }>(['goals', '--status', 'running']);
  const all = await arborJson<{ goals: { id: string }[] }>(['goals']);
  expect(all.goals.map((g) => g.id)).toContain(goalId);
  expect(listed.goals.every((g) => g.id === goalId)).toBe(true);

  // The build ran: its log, found from the task's id, holds what the agent printed.
  const inReview = await waitForGoal(goalId!, 'the review', (t) => t.review!.status === 'review');
  const build = inReview.tasks.find((t) => t.key === 'build')!;
  const review = inReview.tasks.find((t) => t.key === 'review')!;
  const logs = await arbor(['logs', build.id]);
  expect(logs.code, logs.stderr).toBe(0);
  expect(logs.stdout).toMatch(/Wrote notes\/build\.md \(\d+ lines\) and committed it as [0-9a-f]+\./);
  const jsonLines = (await arbor(['logs', build.id, '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string; seq: number });
  expect(jsonLines.some((l) => l.text.startsWith('Wrote notes/build.md'))).toBe(true);

  // Sent back with feedback: the build runs again, and the review waits again.
  const rejected = await arbor(['reject', review.id, '--feedback', 'Add a contrast test']);
  expect(rejected.code, rejected.stderr).toBe(0);
  expect(rejected.stdout).toMatch(/^task review \(.+\) is (pending|review)$/m);
  await waitForGoal(goalId!, 'the reworked build in review', (t) => t.build!.attempt === 2 && t.review!.status === 'review');
  const twice = await arbor(['logs', build.id]);
  expect(twice.stdout.match(/^Wrote notes\/build\.md/gm)).toHaveLength(2);
  expect(twice.stdout.match(/^── session /gm)).toHaveLength(2);

  const approved = await arbor(['approve', review.id, '--comment', 'good now']);
  expect(approved.code, approved.stderr).toBe(0);
  expect(approved.stdout).toMatch(/^task review \(.+\) is succeeded$/m);

  await waitForGoal(goalId!, 'the CI gate', (t) => t.ci!.status === 'waiting');
  const signal = await arbor(['signal', '--type', 'gh_ci', '--pr-url', 'https://github.com/acme/web/pull/42', '--status', 'pass', '--summary', 'all green']);
  expect(signal.code, signal.stderr).toBe(0);
  expect(signal.stdout).toMatch(/^signal [0-9a-f-]{36} matched 1 gate$/m);

  const watched = await watching.done;
  expect(watched.code, watched.stderr).toBe(0);
  // Each reading of the goal after a burst of events says what moved since the last (so steps can merge).
  expect(watched.stdout).toMatch(/^\d\d:\d\d:\d\d review: \w+ -> succeeded$/m);
  expect(watched.stdout).toMatch(/^\d\d:\d\d:\d\d ci: \w+ -> succeeded$/m);
  expect(watched.stdout).toMatch(/goal succeeded: Dark mode from the CLI {2}succeeded {2}3\/3 done/);

  const shown = await arbor(['goal', 'show', goalId!]);
  expect(shown.stdout.split('\n').filter((l) => l.includes('✓'))).toHaveLength(3);
  // A finished goal's watch ends at once.
  expect((await arbor(['watch', goalId!])).code).toBe(0);
});

it('says what is wrong, with the exit code for it', { timeout: 120_000 }, async () => {
  // The API's own refusal: exit 1 and its message with the details.
  const badTree = await arbor(['goal', 'create', '-f', '-'], {
    input: JSON.stringify({ title: 'Bad', repo, base_ref: 'main', tasks: [{ key: 'a', title: 'A', depends_on: ['nowhere'] }] }),
  });
  expect(badTree.code).toBe(1);
  expect(badTree.stdout).toBe('');
  expect(badTree.stderr).toMatch(/^arbor: .*\(HTTP 422\)\n/);
  expect(badTree.stderr).toContain('nowhere');

  const notYaml = await arbor(['goal', 'create', '-f', '-'], { input: 'title: [unclosed' });
  expect(notYaml.code).toBe(1);
  expect(notYaml.stderr).toMatch(/^arbor: stdin is neither YAML nor JSON/);

  const missing = await arbor(['goal', 'create', '-f', 'no-such-file.yaml']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/^arbor: ENOENT.*no-such-file\.yaml/);

  const unknownTask = await arbor(['approve', '00000000-0000-4000-8000-000000000000']);
  expect(unknownTask.code).toBe(1);
  expect(unknownTask.stderr).toBe('arbor: task not found (HTTP 404)\n');

  const noSuchThing = await arbor(['logs', '00000000-0000-4000-8000-000000000000']);
  expect(noSuchThing.code).toBe(1);
  expect(noSuchThing.stderr).toMatch(/^arbor: no task or session 00000000/);

  const unreachable = await arbor(['goals'], { env: { ARBOR_URL: 'http://127.0.0.1:9' } });
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr).toMatch(/^arbor: cannot reach Arbor at http:\/\/127\.0\.0\.1:9/);

  // The command line itself: exit 2, nothing sent.
  const usage = await arbor(['reject', 'some-task']);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain('--feedback is required');
  expect((await arbor(['goals', '--status', 'sleeping'])).code).toBe(2);
  expect((await arbor(['frobnicate'])).code).toBe(2);
});

// Last: it stops the server the other steps share.
it('tells a watch whose server went away that it cannot reach Arbor', { timeout: 120_000 }, async () => {
  // A goal that stays open: its only task waits for a signal nobody sends.
  const res = await fetch(`${server.url}/api/goals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Held', repo, base_ref: 'main', tasks: [{ key: 'gate', title: 'Gate', kind: 'wait_for_signal', gate: { type: 'gh_ci', pr_url: 'https://github.com/acme/web/pull/7' } }] }),
  });
  expect(res.status).toBe(201);
  const { goal } = (await res.json()) as GoalJson;
  await waitForGoal(goal.id, 'the gate to wait', (tasks) => tasks.gate?.status === 'waiting');

  const watch = launch(['watch', goal.id]);
  await waitFor('the watch to show the waiting gate', () => watch.output().includes('waiting'), 30_000);
  await server.stop('SIGKILL');
  const run = await watch.done;
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/^arbor: cannot reach Arbor at http:\/\/127\.0\.0\.1:\d+/);
});
