import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { git, gitEnv, gitCode, showFile } from '../support/git-repo.js';
import { waitFor } from '../support/orchestration.js';
import { REPO_ROOT, killAllServers, startServer, type ServerProcess } from '../support/server-process.js';

/**
 * The README's walkthrough, step by step, against the real server as a child
 * process with the example agent (examples/agent.mjs) behind the `command`
 * agent: make the demo repo, post examples/goal.json, wait for the gate, post
 * the CI signal, approve the review, see the goal succeed and its branch hold
 * each task's work.
 *
 * The commands are taken from the README itself wherever a reader could copy
 * something that would then go wrong: the start command's environment, the
 * demo repo script, the goal file and how `repo` is filled in, the signal's
 * route and body, how the review task is found and the approve call's route
 * and body, and the event stream's headers. So the README cannot drift from
 * what works. The shell around them (curl, jq) is not run: the test must not
 * need either installed; the requests are made with fetch instead.
 */

const README_URL = 'http://127.0.0.1:8080';

interface TaskJson {
  id: string;
  key: string;
  kind: string;
  route: string;
  status: string;
  error: string | null;
  result: { summary?: string; branch?: string; head?: string; merge?: string } | null;
}
interface GoalJson {
  goal: { id: string; status: string; branch: string | null };
  tasks: TaskJson[];
}

// ---------------------------------------------------------------------------
// The README, read as a reader would copy from it.

const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const walkthrough = section(readme, '## Walkthrough');
/** Shell commands of the walkthrough's `sh` blocks, with `\` and trailing-`|` continuations joined. */
const commands = [...walkthrough.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((block) =>
  block[1]!
    .replace(/\\\n\s*/g, ' ')
    .replace(/\|\n\s*/g, '| ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean),
);

function section(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}" section`);
  const next = text.indexOf('\n## ', start + heading.length + 2);
  return text.slice(start, next < 0 ? undefined : next);
}

function command(what: string, test: (line: string) => boolean): string {
  const found = commands.filter(test);
  if (found.length !== 1) throw new Error(`expected one README command ${what}, found ${found.length}:\n${found.join('\n')}`);
  return found[0]!;
}

/** The single-quoted `-d '...'` body of a curl command, parsed. */
function body(line: string): unknown {
  const match = /\s-d\s+'([^']*)'/.exec(line);
  if (!match) throw new Error(`no -d '...' body in: ${line}`);
  return JSON.parse(match[1]!);
}

/** The path after the README's base URL in a curl command. */
function apiPath(line: string): string {
  const match = new RegExp(`${README_URL.replace(/[.]/g, '\\.')}(/[^\\s"']*)`).exec(line);
  if (!match) throw new Error(`no ${README_URL} URL in: ${line}`);
  return match[1]!;
}

/** `-H 'Name: value'` headers of a curl command. */
function headers(line: string): Record<string, string> {
  return Object.fromEntries([...line.matchAll(/-H\s+'([^:']+):\s*([^']*)'/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
}

/** `NAME="value"`/`NAME=value` assignments before `npm start`, with `$PWD` as the repository root. */
function startEnvironment(line: string): Record<string, string> {
  const env: Record<string, string> = {};
  let rest = line;
  for (;;) {
    const match = /^([A-Z_][A-Z0-9_]*)=("([^"]*)"|'([^']*)'|(\S+))\s+/.exec(rest);
    if (!match) break;
    env[match[1]!] = (match[3] ?? match[4] ?? match[5]!).replaceAll('$PWD', REPO_ROOT);
    rest = rest.slice(match[0].length);
  }
  if (rest !== 'npm start') throw new Error(`the start command should be assignments, then npm start: ${line}`);
  return env;
}

const startLine = command('starting Arbor with the example agent', (l) => l.includes('npm start') && l.includes('ARBOR_AGENT_COMMAND'));
const repoLine = command('making the demo repo', (l) => l.includes('make-demo-repo.sh'));
const goalLine = command('posting the goal', (l) => l.includes('examples/goal.json'));
const eventsLine = command('following the events', (l) => l.includes('/api/events'));
const signalLine = command('posting the CI signal', (l) => l.includes('/api/signals/resolve'));
const reviewLine = command('finding the review task', (l) => l.startsWith('OK=$('));
const approveLine = command('approving the review', (l) => l.includes('/approve'));

// ---------------------------------------------------------------------------

let database: TestDatabase;
let tmp: string;
let server: ServerProcess;
let repo: string;

beforeAll(async () => {
  database = await createTestDatabase();
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-readme-')));
  const env = startEnvironment(startLine);
  expect(env.ARBOR_AGENT).toBe('command');
  expect(env.ARBOR_AGENT_COMMAND).toBe(`node ${path.join(REPO_ROOT, 'examples/agent.mjs')}`);
  server = await startServer({
    dataDir: path.join(tmp, 'data'),
    databaseUrl: database.url,
    env: {
      ...env,
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

const url = (line: string, vars: Record<string, string> = {}) =>
  server.url + apiPath(line).replace(/\$([A-Z]+)/g, (_, name: string) => vars[name] ?? `$${name}`);

async function getGoal(id: string): Promise<GoalJson> {
  const res = await fetch(`${server.url}/api/goals/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as GoalJson;
}

async function waitForTask(goalId: string, key: string, status: string): Promise<GoalJson> {
  return waitFor(
    `task ${key} to be ${status}`,
    async () => {
      const goal = await getGoal(goalId);
      const task = goal.tasks.find((t) => t.key === key)!;
      // An agent task that failed would leave the wait to time out with nothing to go on.
      const failed = goal.tasks.find((t) => t.status === 'failed' || t.status === 'blocked');
      if (failed) throw new Error(`task ${failed.key} is ${failed.status}: ${failed.error}\n${server.output().slice(-4000)}`);
      return task.status === status ? goal : undefined;
    },
    60_000,
  );
}

it('runs the README walkthrough to a succeeded goal whose branch holds the work', { timeout: 180_000 }, async () => {
  // Make the demo repo, as the README does (in a temp dir of the test's own).
  expect(repoLine).toBe('REPO=$(sh examples/make-demo-repo.sh)');
  repo = execFileSync('sh', ['examples/make-demo-repo.sh'], { cwd: REPO_ROOT, env: gitEnv({ TMPDIR: tmp }), encoding: 'utf8' }).trim();
  expect(path.isAbsolute(repo)).toBe(true);
  expect(repo.startsWith(tmp)).toBe(true);
  const initial = git(repo, 'rev-parse', 'main');

  // Post examples/goal.json with repo filled in, as the README's jq filter does.
  expect(goalLine).toContain(`jq --arg repo "$REPO" '.repo = $repo' examples/goal.json`);
  const goalFile = JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples/goal.json'), 'utf8')) as Record<string, unknown>;
  const created = await fetch(url(goalLine), {
    method: 'POST',
    headers: headers(goalLine),
    body: JSON.stringify({ ...goalFile, repo }),
  });
  const createdBody = (await created.json()) as GoalJson;
  expect(created.status, JSON.stringify(createdBody)).toBe(201);
  const goalId = createdBody.goal.id;
  expect(createdBody.tasks.map((t) => t.key)).toEqual(['plan', 'build', 'api', 'ui', 'ci', 'ok']);

  // Watch: the agent work finishes and the gate waits.
  const waiting = await waitForTask(goalId, 'ci', 'waiting');
  const tasks = Object.fromEntries(waiting.tasks.map((t) => [t.key, t]));
  expect(tasks.plan!.route).toBe('pinned');
  expect(tasks.api!.route).toBe('spawned');
  expect(tasks.ui!.route).toBe('spawned');
  for (const key of ['plan', 'build', 'api', 'ui']) expect(tasks[key]!.status, key).toBe('succeeded');
  expect(tasks.ok!.status).toBe('pending');
  expect(waiting.goal.status).toBe('running');

  // Post the CI signal exactly as the README does.
  const signal = await fetch(url(signalLine), { method: 'POST', headers: headers(signalLine), body: JSON.stringify(body(signalLine)) });
  const resolved = (await signal.json()) as { matched: string[]; duplicate: boolean };
  expect(signal.status, JSON.stringify(resolved)).toBe(200);
  expect(resolved).toMatchObject({ matched: [tasks.ci!.id], duplicate: false });

  // The review waits; find it and approve it as the README does.
  await waitForTask(goalId, 'ok', 'review');
  const reviewKey = /select\(\.key == "([^"]+)"\)/.exec(reviewLine)?.[1];
  expect(reviewKey).toBe('ok');
  const reviewId = (await getGoal(goalId)).tasks.find((t) => t.key === reviewKey)!.id;
  const approved = await fetch(url(approveLine, { OK: reviewId }), {
    method: 'POST',
    headers: headers(approveLine),
    body: JSON.stringify(body(approveLine)),
  });
  const approvedBody = (await approved.json()) as { task: TaskJson };
  expect(approved.status, JSON.stringify(approvedBody)).toBe(200);
  expect(approvedBody.task.status).toBe('succeeded');

  // The goal succeeds.
  const done = await waitFor(
    'the goal to succeed',
    async () => {
      const goal = await getGoal(goalId);
      return goal.goal.status === 'succeeded' ? goal : undefined;
    },
    60_000,
  );
  expect(done.tasks.every((t) => t.status === 'succeeded')).toBe(true);

  // Its branch holds what each agent task wrote...
  const branch = done.goal.branch!;
  expect(branch).toMatch(/^arbor\/add-dark-mode-/);
  const titles: Record<string, string> = { plan: 'Plan', api: 'API', ui: 'UI' };
  for (const [key, title] of Object.entries(titles)) {
    const note = showFile(repo, branch, `notes/${key}.md`);
    expect(note, `notes/${key}.md on ${branch}`).not.toBeNull();
    expect(note).toContain(`# Task: ${title}`);
    expect(note).toContain('## The goal this task belongs to\nAdd dark mode');
  }
  // (spawned work is told what the pinned plan reported)
  expect(showFile(repo, branch, 'notes/api.md')).toContain('## What earlier tasks reported\n### Plan (plan)');

  const byKey = Object.fromEntries(done.tasks.map((t) => [t.key, t]));
  // ...the pinned plan as a commit on the goal branch itself...
  const plan = byKey.plan!.result!;
  expect(plan.branch).toBe(branch);
  expect(git(repo, 'rev-list', '--first-parent', branch).split('\n')).toContain(plan.head);
  // ...and each spawned task through a merge commit of its own branch.
  const merges = git(repo, 'rev-list', '--merges', branch).split('\n').filter(Boolean);
  expect(merges).toHaveLength(2);
  for (const key of ['api', 'ui']) {
    const result = byKey[key]!.result!;
    expect(result.branch, key).toBe(`${branch}--${key}`);
    expect(merges, `${key} merge`).toContain(result.merge);
    expect(git(repo, 'rev-parse', `${result.merge}^2`), `${key} merge's second parent`).toBe(result.head);
    expect(gitCode(repo, 'rev-parse', '--verify', '--quiet', `refs/heads/${result.branch!}`), `${key} branch deleted once merged`).not.toBe(0);
    expect(showFile(repo, result.head!, `notes/${key}.md`)).not.toBeNull();
  }
  expect(gitCode(repo, 'merge-base', '--is-ancestor', initial, branch)).toBe(0);
  expect(git(repo, 'rev-parse', 'main'), 'main is left alone').toBe(initial);

  // The README's event stream replays the goal's history from the start, to the end.
  const controller = new AbortController();
  const stream = await fetch(url(eventsLine, { GOAL: goalId }), { headers: headers(eventsLine), signal: controller.signal });
  expect(stream.status).toBe(200);
  expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = stream.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    await waitFor(
      'the stream to reach the goal succeeding',
      async () => {
        const { value, done: ended } = await reader.read();
        if (value) text += decoder.decode(value, { stream: true });
        if (ended) throw new Error(`the stream ended early:\n${text}`);
        return /event: goal\.status_changed\ndata: .*"to":"succeeded"/.test(text);
      },
      30_000,
    );
  } finally {
    controller.abort();
  }
  expect(text).toContain('event: goal.created');
  expect(text).toMatch(/event: session\.started\ndata: .*"kind":"spawned"/);
});
