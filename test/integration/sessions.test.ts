import { serve } from '@hono/node-server';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createGit } from '../../server/sessions/git-command.js';
import { RepoMirrors } from '../../server/sessions/repo-mirror.js';
import { laneHolder } from '../../server/store/goal-lanes.js';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../server/config.js';
import { planGoalTree, type TaskSpec } from '../../server/domain/goal-tree.js';
import type { AgentName, ChildrenMode } from '../../server/domain/states.js';
import { createApp } from '../../server/http/app.js';
import { createLogger } from '../../server/logger.js';
import { TaskOrchestrator } from '../../server/orchestrator/task-orchestrator.js';
import { AgentSessionRunner, type SessionSettings } from '../../server/sessions/agent-session-runner.js';
import { createAgentAdapter, type AgentAdapter, type AgentSettings } from '../../server/sessions/agents/index.js';
import { createGoalPreflight } from '../../server/sessions/goal-preflight.js';
import { WorktreeManager } from '../../server/sessions/worktrees.js';
import { getGoal, insertGoalTree, type NewGoal } from '../../server/store/goals.js';
import { retryTask } from '../../server/store/task-commands.js';
import { getTask, listGoalTasks, type TaskWithDeps } from '../../server/store/tasks.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { branchExists, commitAll, createGitRepo, git, logSubjects, showFile, worktreePaths, type TestRepo } from '../support/git-repo.js';
import { fastOptions, waitFor, waitForGoal } from '../support/orchestration.js';
import { processGone } from '../support/processes.js';

/**
 * The AgentSessionRunner under a real TaskOrchestrator, against real agent
 * processes (fake CLIs in test/fixtures), real git repositories in temp dirs,
 * a real Postgres and the real HTTP API (agents call back into it). Each test
 * builds its own world (database, API server, repository, worktree root) and
 * tears it down. Nothing here asserts how long anything takes.
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const FAKE_CLAUDE = path.join(FIXTURES, 'fake-claude.mjs');
const FAKE_CODEX = path.join(FIXTURES, 'fake-codex.mjs');
const CALLBACK_AGENT = path.join(FIXTURES, 'callback-agent.mjs');
const ENV_AGENT = path.join(FIXTURES, 'agent-env.mjs');

const API_TOKEN = 'sessions-test-api-token-0123456789';
const AUTH = { authorization: `Bearer ${API_TOKEN}` };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const logger = createLogger('silent');

const TEST_TIMEOUT = 120_000;
/** Generous: agents are real processes on a machine that may be busy. */
const WAIT_MS = 60_000;

let tmp: string;
beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-sessions-')));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// The world one test runs in.

interface TranscriptEntry {
  agent: 'claude' | 'codex';
  argv: string[];
  cwd: string;
  pid: number;
  sessionId?: string | null;
  /** claude: the --resume id; codex: whether `resume` was given (the id is then in threadId). */
  resume?: string | boolean | null;
  threadId?: string | null;
  claudecode: boolean;
}

interface HarnessOptions {
  settings?: Partial<Omit<SessionSettings, 'apiUrl' | 'instanceId'>>;
  claudeBin?: string;
  command?: string[];
  /** Replaces the default base environment (FAKE_AGENT_LOG is always added). */
  baseEnv?: Record<string, string>;
  /** Extra variables on top of the base environment. */
  extraEnv?: Record<string, string>;
  /** A plain directory instead of a git repository as the goals' repo. */
  notARepo?: boolean;
  /** Give the runner the goal preflight, as the server does. */
  preflight?: boolean;
  /** Goals name a bare clone of the repository by a file:// URL; the runner keeps a mirror of it. */
  remote?: boolean;
  /** Arbor's own git commands (not the agents') are recorded, for gitCommands(). */
  recordGit?: boolean;
}

interface Harness {
  db: TestDatabase;
  url: string;
  repo: TestRepo;
  /** The worktree root, as given (it may not exist yet). */
  root: string;
  transcriptFile: string;
  /** The bare remote (with `remote`), else null. */
  remote: string | null;
  /** Where the runner keeps its mirrors. */
  mirrors: string;
  runner: AgentSessionRunner;
  orchestrator: TaskOrchestrator;
  transcript(): TranscriptEntry[];
  /** With `recordGit`: how many git processes Arbor started since the last clearGitCommands(), by subcommand. */
  gitCommands(): Record<string, number>;
  clearGitCommands(): void;
  createGoal(
    tasks: TaskSpec[],
    options?: { childrenMode?: ChildrenMode; title?: string; agent?: AgentName; maxParallel?: number },
  ): Promise<{ goal: { id: string; title: string }; tasks: TaskWithDeps[] }>;
  close(): Promise<void>;
}

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
}, 120_000);

/** The agents' environment as a test run would give it: ours, without CLAUDECODE and git's hook variables. */
function defaultBaseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name === 'CLAUDECODE' || name === 'CLAUDE_CODE_ENTRYPOINT' || name.startsWith('GIT_')) continue;
    env[name] = value;
  }
  // Agents commit with `git commit`: an identity of their own, whatever the machine has.
  return {
    ...env,
    GIT_AUTHOR_NAME: 'Fake Agent',
    GIT_AUTHOR_EMAIL: 'agent@example.com',
    GIT_COMMITTER_NAME: 'Fake Agent',
    GIT_COMMITTER_EMAIL: 'agent@example.com',
  };
}

async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(path.join(tmp, 'case-'));
  const db = await createTestDatabase();
  const repo = options.notARepo
    ? { path: await realpath(await mkdtemp(path.join(dir, 'plain-'))), initial: '' }
    : await createGitRepo({ parent: dir });
  const root = path.join(dir, 'worktrees');
  const mirrors = path.join(dir, 'mirrors');
  const remote = options.remote ? path.join(dir, 'remote.git') : null;
  if (remote) git(dir, 'clone', '-q', '--bare', repo.path, remote);
  const transcriptFile = path.join(dir, 'agents.jsonl');
  const gitLog = path.join(dir, 'arbor-git.log');
  const arborEnv = options.recordGit ? recordingGitEnv(dir, gitLog) : process.env;

  const config = testConfig({ auth: { apiToken: API_TOKEN } });
  const app = createApp({ db: db.db, logger, config });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  await new Promise<void>((resolve, reject) => {
    if (server.listening) return resolve();
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const agentSettings: AgentSettings = {
    claude: { bin: options.claudeBin ?? FAKE_CLAUDE, permissionMode: 'acceptEdits', extraArgs: [] },
    codex: { bin: FAKE_CODEX, sandbox: 'workspace-write', extraArgs: [] },
    command: { argv: options.command ?? [process.execPath, CALLBACK_AGENT] },
  };
  const adapters = new Map<AgentName, AgentAdapter>();
  const agentFor = (name: AgentName): AgentAdapter => {
    if (!adapters.has(name)) adapters.set(name, createAgentAdapter(name, agentSettings));
    return adapters.get(name)!;
  };
  const orchestratorOptions = fastOptions({ stopGraceMs: 20_000 });
  const settings: SessionSettings = {
    instanceId: orchestratorOptions.instanceId,
    apiUrl: () => url,
    baseEnv: { ...(options.baseEnv ?? defaultBaseEnv()), ...options.extraEnv, FAKE_AGENT_LOG: transcriptFile },
    taskTimeoutMs: 120_000,
    stallTimeoutMs: 0,
    killGraceMs: 500,
    resultGraceMs: 300,
    logMaxLines: 10_000,
    keepFailedWorktrees: false,
    ports: null,
    ...options.settings,
  };
  const preflight = options.preflight ? createGoalPreflight({ agents: agentSettings, env: settings.baseEnv, runsAgents: true }) : undefined;
  const runner = new AgentSessionRunner(
    { db: db.db, logger, worktrees: new WorktreeManager({ root, env: arborEnv }), mirrors: new RepoMirrors(createGit(arborEnv), mirrors), agentFor, preflight },
    settings,
  );
  const orchestrator = new TaskOrchestrator({ db: db.db, runner, logger }, orchestratorOptions);
  await orchestrator.start();

  let closed = false;
  const harness: Harness = {
    db,
    url,
    repo,
    root,
    transcriptFile,
    remote,
    mirrors,
    runner,
    orchestrator,
    transcript: () => {
      if (!existsSync(transcriptFile)) return [];
      return readFileSync(transcriptFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as TranscriptEntry);
    },
    gitCommands: () => countGitCommands(gitLog),
    clearGitCommands: () => writeFileSync(gitLog, ''),
    createGoal: async (tasks, goalOptions = {}) => {
      const mode = goalOptions.childrenMode ?? 'sequential';
      const plan = planGoalTree(tasks, mode, { maxTasks: 1000, maxDepth: 32 });
      if (!plan.ok) throw new Error(JSON.stringify(plan.errors));
      const goal: NewGoal = {
        title: goalOptions.title ?? 'Session test',
        description: '',
        repo: remote ? `file://${remote}` : repo.path,
        baseRef: 'main',
        agent: goalOptions.agent ?? 'claude',
        childrenMode: mode,
        maxParallel: goalOptions.maxParallel ?? 4,
        metadata: {},
      };
      return insertGoalTree(db.db, goal, plan.tasks);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await orchestrator.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.destroy();
    },
  };
  open.push(harness);
  return harness;
}

/**
 * An environment whose PATH finds a `git` that logs its arguments, then runs
 * the real git: only Arbor's own commands run with it (agents have the base
 * environment). git's own helpers find git on its exec path first; one that
 * got here anyway is not logged (its parent is git).
 */
function recordingGitEnv(dir: string, log: string): NodeJS.ProcessEnv {
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const bin = path.join(dir, 'recording-git');
  mkdirSync(bin);
  // `read` and one printf are the shell's own: no process more, and one write per line, so lines do not interleave.
  const script = [
    '#!/bin/sh',
    'parent=',
    'read -r parent 2>/dev/null </proc/$PPID/comm',
    `case "$parent" in git*) ;; *) printf '%s\\n' "$*" >>'${log}' ;; esac`,
    `exec '${realGit}' "$@"`,
    '',
  ].join('\n');
  writeFileSync(path.join(bin, 'git'), script, { mode: 0o755 });
  return { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` };
}

/** How many git commands Arbor started, by subcommand (`worktree add`, `rev-parse`...), from the log recordingGitEnv keeps. */
function countGitCommands(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  if (!existsSync(log)) return counts;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line === '') continue;
    const args = line.split(' ');
    // `-c key=value` settings come before the subcommand.
    let i = 0;
    while (args[i] === '-c') i += 2;
    const subcommand = args[i] === 'worktree' ? `worktree ${args[i + 1]}` : (args[i] ?? '');
    counts[subcommand] = (counts[subcommand] ?? 0) + 1;
  }
  return counts;
}

// ---------------------------------------------------------------------------
// Reading what happened.

async function task(h: Harness, goalId: string, key: string): Promise<TaskWithDeps> {
  const found = (await listGoalTasks(h.db.db, goalId)).find((t) => t.key === key);
  if (!found) throw new Error(`no task ${key}`);
  return found;
}

async function waitForTask(h: Harness, goalId: string, key: string, status: string): Promise<TaskWithDeps> {
  return waitFor(
    `task ${key} to be ${status}`,
    async () => {
      const t = await task(h, goalId, key);
      if (t.status === status) return t;
      // A terminal state other than the one awaited will not change: say so at once.
      if (['succeeded', 'failed', 'blocked', 'cancelled', 'skipped'].includes(t.status)) {
        throw new Error(`task ${key} is ${t.status} (error: ${t.error}), not ${status}`);
      }
      return undefined;
    },
    WAIT_MS,
  );
}

/** Passes a waiting gate by hand, through the API. */
async function passGate(h: Harness, taskId: string): Promise<void> {
  const signalled = await fetch(`${h.url}/api/tasks/${taskId}/signal`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'pass' }),
  });
  expect(signalled.status).toBe(200);
}

function sessionsOf(h: Harness, goalId: string) {
  return h.db.db.selectFrom('sessions').selectAll().where('goalId', '=', goalId).orderBy('createdAt').execute();
}

function sessionsOfTask(h: Harness, taskId: string) {
  return h.db.db.selectFrom('sessions').selectAll().where('taskId', '=', taskId).orderBy('createdAt').execute();
}

async function logRows(h: Harness, sessionId: string) {
  const rows = await h.db.db
    .selectFrom('sessionLogs')
    .select(['seq', 'stream', 'text'])
    .where('sessionId', '=', sessionId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

async function logText(h: Harness, sessionId: string): Promise<string> {
  return (await logRows(h, sessionId)).map((r) => r.text).join('\n');
}

function result(t: TaskWithDeps): Record<string, any> {
  return (t.result ?? {}) as Record<string, any>;
}

// ---------------------------------------------------------------------------

describe('AgentSessionRunner', { timeout: TEST_TIMEOUT }, () => {
  it('runs pinned tasks in one worktree, resuming one conversation, on the goal branch', async () => {
    const h = await startHarness();
    const { goal } = await h.createGoal(
      [
        {
          key: 'first',
          title: 'First',
          session_policy: 'pinned',
          instructions: 'FAKE: write one.txt one\nFAKE: commit first task commit',
        },
        // Leaves its work uncommitted: Arbor commits it.
        { key: 'second', title: 'Second', session_policy: 'pinned', instructions: 'FAKE: write two.txt two' },
      ],
      { title: 'Pinned lane test' },
    );
    await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);

    const expectedBranch = `arbor/pinned-lane-test-${goal.id.slice(0, 8)}`;
    expect((await getGoal(h.db.db, goal.id))!.branch).toBe(expectedBranch);

    // One conversation: the first call named it, the second resumed it, from the same directory.
    const calls = h.transcript();
    expect(calls).toHaveLength(2);
    const [first, second] = calls as [TranscriptEntry, TranscriptEntry];
    expect(first.sessionId).toMatch(UUID);
    expect(first.resume).toBeNull();
    expect(second.resume).toBe(first.sessionId);
    expect(second.sessionId).toBeNull();
    expect(second.cwd).toBe(first.cwd);
    expect(first.cwd).toBe(path.join(await realpath(h.root), goal.id.slice(0, 8), 'goal'));

    // One pinned session row for the goal, holding that conversation.
    const sessions = await sessionsOf(h, goal.id);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.kind).toBe('pinned');
    expect(sessions[0]!.agentSessionId).toBe(first.sessionId);
    expect(sessions[0]!.branch).toBe(expectedBranch);

    // Both tasks' work is on the goal branch; main is untouched.
    expect(showFile(h.repo.path, expectedBranch, 'one.txt')).toBe('one');
    expect(showFile(h.repo.path, expectedBranch, 'two.txt')).toBe('two');
    expect(git(h.repo.path, 'rev-parse', 'main')).toBe(h.repo.initial);
    const subjects = logSubjects(h.repo.path, expectedBranch);
    expect(subjects[0]).toBe('arbor: uncommitted work of task second');
    expect(subjects).toContain('first task commit');
    // The leftover commit holds the second task's file.
    const leftover = git(h.repo.path, 'rev-parse', expectedBranch);
    expect(git(h.repo.path, 'show', '--name-only', '--format=', leftover).split('\n')).toEqual(['two.txt']);

    const second_ = await task(h, goal.id, 'second');
    expect(result(second_).branch).toBe(expectedBranch);
    expect(result(second_).head).toBe(leftover);
    expect(result(second_).commits).toEqual([{ sha: leftover, subject: 'arbor: uncommitted work of task second' }]);
    const first_ = await task(h, goal.id, 'first');
    expect(result(first_).commits.map((c: { subject: string }) => c.subject)).toEqual(['first task commit']);
  });

  it('brings the pinned worktree up to merges made without it before the next pinned task, so that task never undoes them', async () => {
    const h = await startHarness();
    const { goal } = await h.createGoal(
      [
        { key: 'p1', title: 'P1', session_policy: 'pinned', instructions: 'FAKE: write p1.txt p1\nFAKE: commit p1' },
        {
          key: 'fan',
          title: 'Fan out',
          children_mode: 'parallel',
          children: ['a', 'b'].map((key) => ({ key, title: key, session_policy: 'spawn' as const, instructions: `FAKE: write ${key}.txt ${key}\nFAKE: commit ${key}` })),
        },
        // Commits everything it sees: on a stale checkout that would delete a.txt and b.txt again.
        { key: 'p2', title: 'P2', session_policy: 'pinned', instructions: 'FAKE: write p2.txt p2\nFAKE: commit p2' },
      ],
      { title: 'Pinned after merges' },
    );
    await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
    const branch = (await getGoal(h.db.db, goal.id))!.branch!;
    for (const key of ['p1', 'a', 'b', 'p2']) expect(showFile(h.repo.path, branch, `${key}.txt`)).toBe(key);
    const p2 = result(await task(h, goal.id, 'p2'));
    expect(git(h.repo.path, 'show', '--name-only', '--format=', p2.head as string)).toBe('p2.txt');
    // The lane stayed with this instance between its pinned runs, and was given up when the goal ended.
    await waitFor('the lane to be given up', async () => (await laneHolder(h.db.db, goal.id)) === null, WAIT_MS);
  });

  it('takes over the pinned lane of an instance whose lease expired: a fresh conversation, and the log says so', async () => {
    const h = await startHarness();
    const { goal } = await h.createGoal(
      [
        { key: 'p1', title: 'P1', session_policy: 'pinned', instructions: 'FAKE: write p1.txt p1\nFAKE: commit p1\nFAKE: summary p1 wrote p1.txt' },
        { key: 'hold', title: 'Hold', kind: 'wait_for_signal', gate: { type: 'hold', name: 'lane-test' } },
        { key: 'p2', title: 'P2', session_policy: 'pinned', instructions: 'FAKE: write p2.txt p2\nFAKE: commit p2' },
      ],
      { title: 'Lane takeover' },
    );
    const gate = await waitForTask(h, goal.id, 'hold', 'waiting');
    // The lane and its conversation belonged to an instance that died: its lease ran out.
    await h.db.db.updateTable('goalLanes').set({ holder: 'dead-instance', expiresAt: new Date(Date.now() - 1000) }).where('goalId', '=', goal.id).execute();
    await h.db.db.updateTable('sessions').set({ owner: 'dead-instance' }).where('goalId', '=', goal.id).where('kind', '=', 'pinned').execute();
    await passGate(h, gate.id);
    await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);

    const [first, second] = h.transcript() as [TranscriptEntry, TranscriptEntry];
    expect(second.resume).toBeNull();
    expect(second.sessionId).not.toBe(first.sessionId);
    const sessions = await sessionsOf(h, goal.id);
    expect(sessions.map((s) => s.owner)).toEqual(['dead-instance', expect.not.stringMatching(/^dead-instance$/)]);
    expect(sessions[0]!.endReason).toBe('the lane moved to another instance');
    expect(await logText(h, sessions[1]!.id)).toContain("the goal's pinned lane moved here from instance dead-instance (its lease expired)");
  });

  it("removes the goal's worktree when the goal ends, though its lane had moved away from this instance", async () => {
    const h = await startHarness();
    const { goal } = await h.createGoal(
      [
        { key: 'p1', title: 'P1', session_policy: 'pinned', instructions: 'FAKE: write p1.txt p1\nFAKE: commit p1' },
        { key: 'hold', title: 'Hold', kind: 'wait_for_signal', gate: { type: 'hold', name: 'moved-lane' } },
      ],
      { title: 'Moved lane' },
    );
    await waitForTask(h, goal.id, 'hold', 'waiting');
    const goalWorktree = path.join(h.root, goal.id.slice(0, 8), 'goal');
    expect(existsSync(goalWorktree)).toBe(true);
    // Another instance took the lane over and ended this instance's session, as pinnedSession() does there.
    await h.db.db.updateTable('sessions').set({ status: 'ended', endReason: 'the lane moved to another instance' }).where('goalId', '=', goal.id).execute();
    const cancelled = await fetch(`${h.url}/api/goals/${goal.id}/cancel`, { method: 'POST', headers: AUTH });
    expect(cancelled.status).toBe(200);
    await waitFor('the ended goal\'s worktree removed', () => !existsSync(goalWorktree), WAIT_MS);
    expect(worktreePaths(h.repo.path)).toHaveLength(1);
  });

  describe('on a remote repository', () => {
    const mixedGoal = [
      { key: 'p1', title: 'P1', session_policy: 'pinned' as const, instructions: 'FAKE: write p1.txt p1\nFAKE: commit p1' },
      {
        key: 'fan',
        title: 'Fan out',
        children_mode: 'parallel' as const,
        children: ['a', 'b', 'c'].map((key) => ({ key, title: key, session_policy: 'spawn' as const, instructions: `FAKE: write ${key}.txt ${key}\nFAKE: commit ${key}` })),
      },
      { key: 'p2', title: 'P2', session_policy: 'pinned' as const, instructions: 'FAKE: write p2.txt p2' },
    ];

    it('works in a mirror and pushes task branches and goal-branch merges to the remote', async () => {
      const h = await startHarness({ remote: true });
      const { goal } = await h.createGoal(mixedGoal, { title: 'Remote goal' });
      await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
      const branch = (await getGoal(h.db.db, goal.id))!.branch!;
      const remote = h.remote!;
      for (const key of ['p1', 'a', 'b', 'c', 'p2']) expect(showFile(remote, branch, `${key}.txt`)).toBe(key);
      // Every spawned task's commits are in the remote goal branch, merged by Arbor.
      for (const key of ['a', 'b', 'c']) {
        const t = result(await task(h, goal.id, key));
        expect(git(remote, 'merge-base', '--is-ancestor', t.head, branch)).toBe('');
        expect(git(remote, 'rev-parse', `${branch}--${key}`)).toBe(t.head);
      }
      expect(logSubjects(remote, branch, '--merges').sort()).toEqual(['a', 'b', 'c'].map((k) => `arbor: merge task ${k}`));
      // The local repository is untouched; worktrees came from the mirror and the spawned ones are gone.
      expect(branchExists(h.repo.path, branch)).toBe(false);
      const [mirror] = readdirSync(h.mirrors);
      expect(worktreePaths(path.join(h.mirrors, mirror!))).toHaveLength(2);
    });

    it('starts from what the remote has now, though the mirror was behind', async () => {
      const h = await startHarness({ remote: true });
      const first = await h.createGoal([{ key: 'x', title: 'X', session_policy: 'spawn', instructions: 'FAKE: write x.txt x\nFAKE: commit x' }], { title: 'First' });
      await waitForGoal(h.db.db, first.goal.id, 'succeeded', WAIT_MS);
      // Someone pushes to main on the remote; this instance's mirror has not seen it.
      const other = path.join(path.dirname(h.remote!), 'other-clone');
      git(path.dirname(other), 'clone', '-q', h.remote!, other);
      writeFileSync(path.join(other, 'news.txt'), 'news\n');
      const news = commitAll(other, 'news');
      git(other, 'push', '-q', 'origin', 'main');

      const second = await h.createGoal([{ key: 'y', title: 'Y', session_policy: 'spawn', instructions: 'FAKE: write y.txt y\nFAKE: commit y' }], { title: 'Second' });
      await waitForGoal(h.db.db, second.goal.id, 'succeeded', WAIT_MS);
      const branch = (await getGoal(h.db.db, second.goal.id))!.branch!;
      expect(git(h.remote!, 'merge-base', '--is-ancestor', news, branch)).toBe('');
      expect(showFile(h.remote!, branch, 'y.txt')).toBe('y');
    });

    it('a remote that refuses the merge push: the task is blocked with the reason, the remote goal branch as it was', async () => {
      const h = await startHarness({ remote: true });
      // The remote lets a goal branch be created, and refuses every later update of it.
      const hook = path.join(h.remote!, 'hooks', 'pre-receive');
      writeFileSync(
        hook,
        '#!/bin/sh\nwhile read old new ref; do\n  case "$ref" in refs/heads/arbor/*--*) ;; refs/heads/arbor/*) [ "$old" = 0000000000000000000000000000000000000000 ] || { echo "goal branches are protected" >&2; exit 1; } ;; esac\ndone\n',
      );
      chmodSync(hook, 0o755);
      const { goal } = await h.createGoal(
        [{ key: 'r', title: 'R', session_policy: 'spawn', max_attempts: 1, instructions: 'FAKE: write r.txt r\nFAKE: commit r' }],
        { title: 'Refused' },
      );
      const blocked = await waitForTask(h, goal.id, 'r', 'blocked');
      expect(blocked.error).toMatch(/merging .* failed: pushing .* was refused: .*goal branches are protected/);
      const branch = (await getGoal(h.db.db, goal.id))!.branch!;
      expect(git(h.remote!, 'rev-parse', branch)).toBe(h.repo.initial);
      // The task's work is safe on the remote, on its own branch.
      expect(showFile(h.remote!, `${branch}--r`, 'r.txt')).toBe('r');
    });
  });

  it('runs spawned tasks at the same time in worktrees of their own and merges them back with --no-ff', async () => {
    const h = await startHarness();
    const { goal } = await h.createGoal(
      ['a', 'b'].map((key) => ({
        key,
        title: `Task ${key}`,
        session_policy: 'spawn' as const,
        instructions: `FAKE: sleep 2000\nFAKE: write ${key}.txt from ${key}\nFAKE: commit add ${key}`,
      })),
      { childrenMode: 'parallel', title: 'Spawned work' },
    );
    await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
    const goalBranch = (await getGoal(h.db.db, goal.id))!.branch!;
    expect(goalBranch).toBe(`arbor/spawned-work-${goal.id.slice(0, 8)}`);

    // Two agents, two different worktrees under the goal's directory, neither the goal's own.
    const calls = h.transcript();
    expect(calls).toHaveLength(2);
    const goalDir = path.join(await realpath(h.root), goal.id.slice(0, 8));
    const cwds = calls.map((c) => c.cwd);
    expect(new Set(cwds).size).toBe(2);
    for (const cwd of cwds) {
      expect(path.dirname(cwd)).toBe(goalDir);
      expect(cwd).not.toBe(path.join(goalDir, 'goal'));
    }

    // They ran at the same time: each started before the other ended.
    const sessions = await sessionsOf(h, goal.id);
    expect(sessions).toHaveLength(2);
    const [s1, s2] = sessions as [(typeof sessions)[0], (typeof sessions)[0]];
    for (const s of sessions) {
      expect(s.kind).toBe('spawned');
      expect(s.status).toBe('ended');
      expect(s.baseSha).toBe(h.repo.initial);
    }
    expect(s1.startedAt!.getTime()).toBeLessThan(s2.endedAt!.getTime());
    expect(s2.startedAt!.getTime()).toBeLessThan(s1.endedAt!.getTime());

    const merges = git(h.repo.path, 'log', '--merges', '--format=%H %s', goalBranch).split('\n');
    expect(merges).toHaveLength(2);
    for (const key of ['a', 'b']) {
      const t = await task(h, goal.id, key);
      const r = result(t);
      const session = sessions.find((s) => s.taskId === t.id)!;
      expect(r.branch).toBe(session.branch);
      expect(r.branch).toBe(`${goalBranch}--${key}`);
      expect(r.base).toBe(h.repo.initial);
      expect(r.commits).toEqual([{ sha: r.head, subject: `add ${key}` }]);
      expect(r.diffstat).toEqual({ files: 1, insertions: 1, deletions: 0 });
      // A merge commit (two parents) whose second parent is the task's head.
      expect(merges).toContain(`${r.merge} arbor: merge task ${key}`);
      expect(git(h.repo.path, 'rev-list', '--parents', '-n', '1', r.merge).split(' ').slice(2)).toEqual([r.head]);
      expect(showFile(h.repo.path, goalBranch, `${key}.txt`)).toBe(`from ${key}`);
      // Merged, so the branch and the worktree are both gone; its head lives on in the goal branch.
      expect(branchExists(h.repo.path, r.branch)).toBe(false);
      expect(git(h.repo.path, 'merge-base', '--is-ancestor', r.head, goalBranch)).toBe('');
      expect(existsSync(session.worktreePath!)).toBe(false);
      expect(worktreePaths(h.repo.path)).not.toContain(session.worktreePath);
    }
  });

  it('blocks the task whose merge conflicts, keeps its branch, and a retry carries on there with the goal head merged in', async () => {
    const h = await startHarness();
    const { goal } = await h.createGoal(
      ['a', 'b'].map((key) => ({
        key,
        title: `Task ${key}`,
        session_policy: 'spawn' as const,
        // Retrying changes nothing in the instructions: the retry writes the same content again,
        // this time on top of the other task's merged version, which is no conflict.
        instructions: `FAKE: sleep 2000\nFAKE: write shared.txt written by ${key}\nFAKE: commit ${key} writes shared.txt`,
      })),
      { childrenMode: 'parallel', title: 'Conflicts' },
    );
    const settled = await waitFor(
      'one task to succeed and the other to be blocked',
      async () => {
        const tasks = await listGoalTasks(h.db.db, goal.id);
        const done = tasks.filter((t) => t.status === 'succeeded');
        const blocked = tasks.filter((t) => t.status === 'blocked');
        if (tasks.some((t) => t.status === 'failed')) throw new Error(JSON.stringify(tasks.map((t) => [t.key, t.status, t.error])));
        return done.length === 1 && blocked.length === 1 ? { winner: done[0]!, loser: blocked[0]! } : undefined;
      },
      WAIT_MS,
    );
    const { winner, loser } = settled;
    const goalBranch = (await getGoal(h.db.db, goal.id))!.branch!;
    // Both branched from the same goal head, so the conflict was real.
    const firstSessions = await sessionsOf(h, goal.id);
    expect(firstSessions.map((s) => s.baseSha)).toEqual([h.repo.initial, h.repo.initial]);

    expect(loser.error).toContain('conflicts in: shared.txt');
    const loserBranch = result(loser).branch as string;
    expect(loserBranch).toBe(`${goalBranch}--${loser.key}`);
    expect(branchExists(h.repo.path, loserBranch)).toBe(true);
    expect(showFile(h.repo.path, loserBranch, 'shared.txt')).toBe(`written by ${loser.key}`);
    expect(showFile(h.repo.path, goalBranch, 'shared.txt')).toBe(`written by ${winner.key}`);
    expect(await getGoal(h.db.db, goal.id)).toMatchObject({ status: 'running' });
    const headAfterWinner = git(h.repo.path, 'rev-parse', goalBranch);
    expect(result(winner).merge).toBe(headAfterWinner);

    expect((await retryTask(h.db.db, loser.id)).outcome).toBe('applied');
    await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);

    const retried = (await getTask(h.db.db, loser.id))!;
    expect(retried.status).toBe('succeeded');
    // The new attempt carried on on the same branch, with the winner's merge brought in: the
    // conflict was left for the agent, which resolved it by writing the file and committing.
    expect(result(retried).base).toBe(headAfterWinner);
    const loserSessions = await sessionsOfTask(h, loser.id);
    expect(loserSessions).toHaveLength(2);
    expect(loserSessions[1]!.baseSha).toBe(headAfterWinner);
    expect(loserSessions[1]!.branch).toBe(loserBranch);
    expect(result(retried).branch).toBe(loserBranch);
    expect(showFile(h.repo.path, goalBranch, 'shared.txt')).toBe(`written by ${loser.key}`);
    // Merged at last, so deleted.
    expect(branchExists(h.repo.path, loserBranch)).toBe(false);
    // Besides the two merges into the goal: the agent's commit that concluded bringing the goal in.
    expect(git(h.repo.path, 'log', '--merges', '--format=%s', goalBranch).split('\n').sort()).toEqual(
      [...['a', 'b'].map((k) => `arbor: merge task ${k}`), `${loser.key} writes shared.txt`].sort(),
    );
  });

  it('ends a task that runs past its timeout, grandchildren included', async () => {
    const h = await startHarness();
    const { goal } = await h.createGoal([
      { key: 'slow', title: 'Slow', timeout_s: 1, max_attempts: 1, instructions: 'FAKE: spawn-grandchild\nFAKE: sleep 30000' },
    ]);
    const failed = await waitForTask(h, goal.id, 'slow', 'failed');
    expect(failed.error).toMatch(/timed out/);

    const [session] = await sessionsOfTask(h, failed.id);
    expect(session!.endReason).toBe('timed out');
    const match = /FAKE grandchild (\d+)/.exec(await logText(h, session!.id));
    expect(match, 'the grandchild pid is in the log').not.toBeNull();
    const grandchild = Number(match![1]);
    expect(processGone(grandchild)).toBe(true);
  });

  it('ends a task whose agent stays silent longer than the stall timeout', async () => {
    const h = await startHarness({ settings: { stallTimeoutMs: 1000 } });
    const { goal } = await h.createGoal([{ key: 'quiet', title: 'Quiet', max_attempts: 1, instructions: 'FAKE: sleep 20000' }]);
    const failed = await waitForTask(h, goal.id, 'quiet', 'failed');
    expect(failed.error).toBe('stalled: no output for 1 s');
    const [session] = await sessionsOfTask(h, failed.id);
    expect(session!.endReason).toBe('stalled');
  });

  it('stops a running session on request: the task is blocked, a second stop is refused', async () => {
    const h = await startHarness();
    const { goal } = await h.createGoal([
      { key: 'long', title: 'Long', session_policy: 'spawn', instructions: 'FAKE: sleep 30000' },
    ]);
    const session = await waitFor(
      'the session to run',
      async () => (await sessionsOf(h, goal.id)).find((s) => s.status === 'running' && s.pid !== null),
      WAIT_MS,
    );

    const stop = await fetch(`${h.url}/api/sessions/${session.id}/stop`, { method: 'POST', headers: AUTH });
    expect(stop.status).toBe(202);
    const blocked = await waitForTask(h, goal.id, 'long', 'blocked');
    expect(blocked.error).toMatch(/stopped on request/);
    const [ended] = await sessionsOfTask(h, blocked.id);
    expect(ended!.status).toBe('ended');
    expect(ended!.endReason).toBe('stopped');
    expect(processGone(session.pid!)).toBe(true);

    const again = await fetch(`${h.url}/api/sessions/${session.id}/stop`, { method: 'POST', headers: AUTH });
    expect(again.status).toBe(409);
  });

  it('fails the task when the agent CLI does not exist', async () => {
    const h = await startHarness({ claudeBin: '/nonexistent/claude' });
    const { goal } = await h.createGoal([{ key: 'x', title: 'X', max_attempts: 1, instructions: 'FAKE: say hi' }]);
    const failed = await waitForTask(h, goal.id, 'x', 'failed');
    expect(failed.error).toBe('agent CLI not found: /nonexistent/claude');
    await waitForGoal(h.db.db, goal.id, 'failed', WAIT_MS);
  });

  it('fails the task when the repository is not a git repository, creating no worktree', async () => {
    const h = await startHarness({ notARepo: true });
    const { goal } = await h.createGoal([{ key: 'x', title: 'X', max_attempts: 1, instructions: 'FAKE: say hi' }]);
    const failed = await waitForTask(h, goal.id, 'x', 'failed');
    expect(failed.error).toMatch(/not a git repository/);
    expect(failed.error).toContain(h.repo.path);
    expect(existsSync(h.root) ? readdirSync(h.root) : []).toEqual([]);
    expect(readdirSync(h.repo.path)).toEqual([]);
    expect(await sessionsOf(h, goal.id)).toEqual([]);
    expect(h.transcript()).toEqual([]);
  });

  it('a missing agent CLI fails the task at once: the attempts left are not spent on it', async () => {
    const h = await startHarness({ claudeBin: '/nonexistent/claude', preflight: true });
    const { goal } = await h.createGoal([{ key: 'x', title: 'X', max_attempts: 3, instructions: 'FAKE: say hi' }]);
    const failed = await waitForTask(h, goal.id, 'x', 'failed');
    expect(failed.attempt).toBe(1);
    expect(failed.error).toMatch(/^agent CLI not found: \/nonexistent\/claude \(not retried: .*ARBOR_CLAUDE_BIN/);
    await waitForGoal(h.db.db, goal.id, 'failed', WAIT_MS);
  });

  it('a repository that is not one (any more) fails the task at once', async () => {
    const h = await startHarness({ notARepo: true, preflight: true });
    const { goal } = await h.createGoal([{ key: 'x', title: 'X', max_attempts: 3, instructions: 'FAKE: say hi' }]);
    const failed = await waitForTask(h, goal.id, 'x', 'failed');
    expect(failed.attempt).toBe(1);
    expect(failed.error).toMatch(/not a git repository.*\(not retried: repo .* is not a usable git repository/s);
    expect(h.transcript()).toEqual([]);
  });

  it('a failure that can heal is still retried', async () => {
    const h = await startHarness({ preflight: true });
    const { goal } = await h.createGoal([{ key: 'x', title: 'X', max_attempts: 2, instructions: 'FAKE: fail boom' }]);
    const failed = await waitForTask(h, goal.id, 'x', 'failed');
    expect(failed.attempt).toBe(2);
    expect(failed.error).not.toContain('not retried');
  });

  it('keeps a bounded log, served as JSON and as an event stream', async () => {
    const h = await startHarness({ settings: { logMaxLines: 100 } });
    const { goal } = await h.createGoal([
      { key: 'chatty', title: 'Chatty', session_policy: 'spawn', instructions: 'FAKE: print-lines 500' },
    ]);
    await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
    const [session] = await sessionsOf(h, goal.id);
    const rows = await logRows(h, session!.id);
    expect(rows.length).toBeLessThanOrEqual(101);
    const dropped = Number(session!.logDropped);
    expect(dropped).toBeGreaterThan(0);
    expect(rows[0]!.seq).toBe(0);
    expect(rows[0]!.text).toBe(`[${dropped} earlier lines dropped]`);
    // What is kept is the newest: it ends with the last line printed (the result).
    expect(rows.at(-1)!.seq).toBe(Number(session!.logLines));
    expect(rows.some((r) => r.text.includes('line 500 of 500'))).toBe(true);
    expect(dropped + rows.length - 1).toBe(Number(session!.logLines));

    const page = await fetch(`${h.url}/api/sessions/${session!.id}/logs`, { headers: AUTH });
    expect(page.status).toBe(200);
    const body = (await page.json()) as { lines: { seq: number; text: string; stream: string }[]; next_after: number };
    expect(body.lines.map((l) => l.seq)).toEqual(rows.map((r) => r.seq));
    expect(body.lines.map((l) => l.text)).toEqual(rows.map((r) => r.text));
    expect(body.next_after).toBe(rows.at(-1)!.seq);

    const stream = await fetch(`${h.url}/api/sessions/${session!.id}/logs`, {
      headers: { ...AUTH, accept: 'text/event-stream' },
      signal: AbortSignal.timeout(WAIT_MS),
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    // The session has ended: the stream sends what there is, an `end`, and closes.
    const events = parseSse(await stream.text());
    const lineEvents = events.filter((e) => e.event === 'line');
    expect(lineEvents.map((e) => JSON.parse(e.data).seq)).toEqual(rows.map((r) => r.seq));
    expect(events.at(-1)!.event).toBe('end');
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ status: 'ended' });
  });

  describe('callbacks', () => {
    it('lets an agent complete its own task with its token, and nothing else', async () => {
      const h = await startHarness({ command: [process.execPath, CALLBACK_AGENT] });
      // Another task, in another goal, that the agent's token must not open.
      const other = await h.createGoal([{ key: 'other', title: 'Other', kind: 'human_review' }]);
      const otherId = other.tasks[0]!.id;
      const { goal } = await h.createGoal(
        [
          {
            key: 'cb',
            title: 'Callback',
            session_policy: 'spawn',
            max_attempts: 1,
            instructions: [`CALLBACK: other ${otherId}`, 'CALLBACK: wrong-token', 'CALLBACK: complete done by callback', 'CALLBACK: exit 1'].join('\n'),
          },
        ],
        { agent: 'command' },
      );
      const done = await waitForTask(h, goal.id, 'cb', 'succeeded');
      expect(result(done).summary).toBe('done by callback');

      const [session] = await sessionsOfTask(h, done.id);
      const log = await logText(h, session!.id);
      expect(log).toContain('callback other 403');
      expect(log).toContain('callback wrong-token 401');
      expect(log).toContain('callback complete 200');
      // The callback beat the exit code.
      expect(session!.exitCode).toBe(1);
      // The other task was not touched.
      expect((await getTask(h.db.db, otherId))!.status).toBe('review');
    });

    it('lets an agent block its own task with a reason', async () => {
      const h = await startHarness({ command: [process.execPath, CALLBACK_AGENT] });
      const { goal } = await h.createGoal(
        [
          {
            key: 'cb',
            title: 'Callback',
            session_policy: 'spawn',
            instructions: 'CALLBACK: block need a person to pick the colour\nCALLBACK: exit 0',
          },
        ],
        { agent: 'command' },
      );
      const blocked = await waitForTask(h, goal.id, 'cb', 'blocked');
      expect(blocked.error).toBe('need a person to pick the colour');
      const [session] = await sessionsOfTask(h, blocked.id);
      expect(await logText(h, session!.id)).toContain('callback block 200');
      expect(session!.exitCode).toBe(0);
    });
  });

  describe('environment', () => {
    it('gives the agent its ARBOR_* variables and no CLAUDECODE', async () => {
      const h = await startHarness({ extraEnv: { CLAUDECODE: '1', CLAUDE_CODE_ENTRYPOINT: 'cli' } });
      const { goal, tasks } = await h.createGoal([{ key: 'env', title: 'Env', max_attempts: 1, instructions: 'FAKE: env' }]);
      await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
      const [session] = await sessionsOf(h, goal.id);
      const log = await logText(h, session!.id);
      const vars = Object.fromEntries(
        [...log.matchAll(/^(ARBOR_[A-Z_]+|CLAUDECODE)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
      );
      expect(vars.ARBOR_API_URL).toBe(h.url);
      expect(vars.ARBOR_GOAL_ID).toBe(goal.id);
      expect(vars.ARBOR_TASK_ID).toBe(tasks[0]!.id);
      expect(vars.ARBOR_TASK_TOKEN).toMatch(/^arbt_\S+$/);
      expect(vars.CLAUDECODE).toBe('unset');
      expect(h.transcript().map((c) => c.claudecode)).toEqual([false]);
    });

    it('does not hand the database URL or Arbor tokens to agents (config baseEnv)', async () => {
      const env: NodeJS.ProcessEnv = {};
      for (const [name, value] of Object.entries(defaultBaseEnv())) {
        if (!name.startsWith('ARBOR_') && !['DATABASE_URL', 'HOST', 'PORT', 'LOG_LEVEL'].includes(name)) env[name] = value;
      }
      const config: Config = loadConfig({
        ...env,
        DATABASE_URL: 'postgres://arbor:secret@127.0.0.1:5432/arbor',
        ARBOR_API_TOKEN: 'api-token-that-agents-must-not-see',
        ARBOR_SIGNAL_TOKEN: 'signal-token-that-agents-must-not-see',
        ARBOR_GITHUB_WEBHOOK_SECRET: 'webhook-secret-agents-must-not-see',
        CLAUDECODE: '1',
        AGENT_VISIBLE: 'yes',
      });
      const h = await startHarness({ baseEnv: config.sessions.baseEnv, command: [process.execPath, ENV_AGENT] });
      const { goal } = await h.createGoal([{ key: 'env', title: 'Env', session_policy: 'spawn', instructions: 'print env' }], {
        agent: 'command',
      });
      await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
      const [session] = await sessionsOf(h, goal.id);
      const match = /^env-names (.*)$/m.exec(await logText(h, session!.id));
      expect(match).not.toBeNull();
      const names = JSON.parse(match![1]!) as string[];
      for (const hidden of ['DATABASE_URL', 'ARBOR_API_TOKEN', 'ARBOR_SIGNAL_TOKEN', 'ARBOR_GITHUB_WEBHOOK_SECRET', 'CLAUDECODE']) {
        expect(names).not.toContain(hidden);
      }
      for (const given of ['AGENT_VISIBLE', 'PATH', 'ARBOR_API_URL', 'ARBOR_GOAL_ID', 'ARBOR_TASK_ID', 'ARBOR_TASK_TOKEN']) {
        expect(names).toContain(given);
      }
    });
  });

  it("an agent with no git identity of its own can still commit (a fresh container user)", async () => {
    const home = await mkdtemp(path.join(tmp, 'bare-home-'));
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(defaultBaseEnv())) {
      if (!name.startsWith('GIT_') && name !== 'EMAIL') env[name] = value;
    }
    // No ~/.gitconfig, no system config, no identity in the environment.
    const h = await startHarness({ baseEnv: { ...env, HOME: home, GIT_CONFIG_NOSYSTEM: '1' } });
    const { goal, tasks } = await h.createGoal([
      { key: 'own', title: 'Own commit', session_policy: 'spawn', max_attempts: 1, instructions: 'FAKE: write own.txt mine\nFAKE: commit the agent commits' },
    ]);
    await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
    const done = (await getTask(h.db.db, tasks[0]!.id))!;
    const commits = result(done).commits as { sha: string; subject: string }[];
    expect(commits.map((c) => c.subject)).toEqual(['the agent commits']);
    expect(git(h.repo.path, 'log', '-1', '--format=%ae', commits[0]!.sha)).toBe('agent@arbor.invalid');
  });

  it('records cost and tokens on the session, the task result and the goal', async () => {
    const h = await startHarness();
    const { goal } = await h.createGoal([
      { key: 'paid', title: 'Paid', session_policy: 'spawn', instructions: 'FAKE: cost 0.25\nFAKE: tokens 100 20' },
    ]);
    await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
    const [session] = await sessionsOf(h, goal.id);
    expect(Number(session!.costUsd)).toBe(0.25);
    expect(Number(session!.inputTokens)).toBe(100);
    expect(Number(session!.outputTokens)).toBe(20);
    const r = result(await task(h, goal.id, 'paid'));
    expect(r.cost_usd).toBe(0.25);
    expect(r.input_tokens).toBe(100);
    expect(r.output_tokens).toBe(20);
    expect(Number((await getGoal(h.db.db, goal.id))!.costUsd)).toBe(0.25);
  });

  it('runs a codex task and keeps its thread id', async () => {
    const h = await startHarness();
    const { goal } = await h.createGoal([
      {
        key: 'cx',
        title: 'Codex',
        session_policy: 'spawn',
        agent: 'codex',
        instructions: 'FAKE: write codex.txt by codex\nFAKE: commit codex work',
      },
    ]);
    await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
    const [session] = await sessionsOf(h, goal.id);
    expect(session!.agent).toBe('codex');
    expect(session!.agentSessionId).toMatch(UUID);
    expect(await logText(h, session!.id)).toContain(`thread started ${session!.agentSessionId}`);
    expect(h.transcript().map((c) => c.agent)).toEqual(['codex']);
    const goalBranch = (await getGoal(h.db.db, goal.id))!.branch!;
    expect(showFile(h.repo.path, goalBranch, 'codex.txt')).toBe('by codex');
  });

  describe('true accounting, denials and clear failures', () => {
    it('charges each run of a pinned claude lane its own cost, though the CLI reports the conversation total', async () => {
      const h = await startHarness({ extraEnv: { FAKE_AGENT_STATE: path.join(tmp, `state-${Math.random()}`) } });
      const { goal } = await h.createGoal(
        ['one', 'two', 'three'].map((key, i) => ({
          key,
          title: key,
          session_policy: 'pinned' as const,
          instructions: `FAKE: cost 0.0${i + 1}\nFAKE: tokens ${100 * (i + 1)} ${10 * (i + 1)}`,
        })),
      );
      await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
      // The CLI said 0.01, 0.03, 0.06 (running totals); each run cost 0.01, 0.02, 0.03.
      for (const [key, cost, input] of [['one', 0.01, 100], ['two', 0.02, 200], ['three', 0.03, 300]] as const) {
        const t = await task(h, goal.id, key);
        expect(result(t).cost_usd).toBeCloseTo(cost, 9);
        expect(result(t).input_tokens).toBe(input);
        expect(Number(t.costUsd)).toBeCloseTo(cost, 9);
        expect(Number(t.inputTokens)).toBe(input);
      }
      const [session] = await sessionsOf(h, goal.id);
      expect(Number(session!.costUsd)).toBeCloseTo(0.06, 9);
      expect(Number(session!.conversationCostUsd)).toBeCloseTo(0.06, 9);
      const g = (await getGoal(h.db.db, goal.id))!;
      expect(Number(g.costUsd)).toBeCloseTo(0.06, 9);
      expect(Number(g.inputTokens)).toBe(600);
      expect(Number(g.outputTokens)).toBe(60);

      // The API shows them: per task, per goal, and the session with its task's key.
      const shown = (await (await fetch(`${h.url}/api/goals/${goal.id}`, { headers: AUTH })).json()) as Record<string, any>;
      expect(shown.goal).toMatchObject({ input_tokens: 600, output_tokens: 60 });
      expect(shown.goal.cost_usd).toBeCloseTo(0.06, 9);
      expect(shown.tasks.find((t: { key: string }) => t.key === 'two')).toMatchObject({ input_tokens: 200, output_tokens: 20 });
      const sessions = (await (await fetch(`${h.url}/api/sessions?goal_id=${goal.id}`, { headers: AUTH })).json()) as Record<string, any>;
      expect(sessions.sessions[0].task_key).toBe('three');
    });

    it('charges each run of a pinned codex lane its own tokens, though the CLI reports the thread total', async () => {
      const h = await startHarness({ extraEnv: { FAKE_AGENT_STATE: path.join(tmp, `state-${Math.random()}`) } });
      const { goal } = await h.createGoal(
        ['one', 'two', 'three'].map((key) => ({ key, title: key, session_policy: 'pinned' as const, instructions: 'FAKE: tokens 4200 90' })),
        { agent: 'codex' },
      );
      await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
      for (const key of ['one', 'two', 'three']) {
        expect(result(await task(h, goal.id, key))).toMatchObject({ input_tokens: 4200, output_tokens: 90, cost_usd: 0 });
      }
      const g = (await getGoal(h.db.db, goal.id))!;
      expect(Number(g.inputTokens)).toBe(12_600);
      expect(Number(g.outputTokens)).toBe(270);
    });

    it('wires Arbor in as an MCP server by reference to the token variable, and lets codex write the git dirs', async () => {
      const h = await startHarness();
      const { goal } = await h.createGoal([
        { key: 'c', title: 'Claude', session_policy: 'spawn', instructions: 'FAKE: say hi' },
        { key: 'x', title: 'Codex', session_policy: 'pinned', agent: 'codex', instructions: 'FAKE: write x.txt x\nFAKE: commit codex commit' },
      ]);
      await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
      const [claude, codex] = h.transcript() as [TranscriptEntry, TranscriptEntry];
      const config = JSON.parse(claude.argv[claude.argv.indexOf('--mcp-config') + 1]!);
      expect(config.mcpServers.arbor).toEqual({ type: 'http', url: `${h.url}/mcp`, headers: { Authorization: 'Bearer ${ARBOR_TASK_TOKEN}' } });
      expect(claude.argv).toContain('--strict-mcp-config');
      expect(codex.argv).toContain(`mcp_servers.arbor.url=${JSON.stringify(`${h.url}/mcp`)}`);
      const added = codex.argv.flatMap((arg, i) => (codex.argv[i - 1] === '--add-dir' ? [arg] : []));
      expect(added).toContain(await realpath(path.join(h.repo.path, '.git')));
      expect(added.some((dir) => dir.includes(`${path.sep}worktrees${path.sep}`))).toBe(true);
      expect(logSubjects(h.repo.path, (await getGoal(h.db.db, goal.id))!.branch!)).toContain('codex commit');
    });

    it('fails a run whose agent was denied a tool, and shows the denial in the result and the log', async () => {
      const h = await startHarness();
      const { goal } = await h.createGoal([
        { key: 'd', title: 'Denied', session_policy: 'spawn', max_attempts: 1, instructions: 'FAKE: deny Bash {"command":"npm test"}\nFAKE: summary All done.' },
      ]);
      const failed = await waitForTask(h, goal.id, 'd', 'failed');
      expect(failed.error).toBe('the agent was denied a tool: Bash');
      expect(result(failed).permission_denials).toEqual([{ tool: 'Bash', input: { command: 'npm test' } }]);
      const [session] = await sessionsOfTask(h, failed.id);
      expect(await logText(h, session!.id)).toContain('permission denied: Bash {"command":"npm test"}');
    });

    it('notes a denial on a successful run when so configured', async () => {
      const h = await startHarness({ settings: { onPermissionDenial: 'note' } });
      const { goal } = await h.createGoal([
        { key: 'd', title: 'Denied', session_policy: 'spawn', instructions: 'FAKE: deny WebFetch {}\nFAKE: summary Done without it.' },
      ]);
      await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
      const r = result(await task(h, goal.id, 'd'));
      expect(r.summary).toBe('Done without it.');
      expect(r.permission_denials).toEqual([{ tool: 'WebFetch', input: {} }]);
    });

    it("says why a run failed: the tail of the agent's stderr, never a progress line as summary; the retry is told", async () => {
      const h = await startHarness();
      const { goal } = await h.createGoal([
        {
          key: 'e',
          title: 'Erring',
          session_policy: 'spawn',
          max_attempts: 1,
          instructions: 'FAKE: say Working on it...\nFAKE: stderr Error: 529 {"type":"overloaded_error"}\nFAKE: die 1',
        },
      ]);
      const failed = await waitForTask(h, goal.id, 'e', 'failed');
      expect(failed.error).toBe('the agent exited with code 1; its stderr ended with:\nError: 529 {"type":"overloaded_error"}');
      expect(result(failed).summary).toBeUndefined();
    });
  });

  describe('git processes Arbor starts for one spawned task', () => {
    // Each one is a fork and an exec (from the spawner process in the server): on a machine that forks
    // slowly, many spawned tasks keep it busy doing just that. These counts are what a task needs; more is a regression.
    const tasks: TaskSpec[] = [
      { key: 'first', title: 'First', session_policy: 'spawn', instructions: 'FAKE: write first.txt first\nFAKE: commit first' },
      { key: 'hold', title: 'Hold', kind: 'wait_for_signal', gate: { type: 'hold', name: 'git-count' } },
      { key: 'second', title: 'Second', session_policy: 'spawn', instructions: 'FAKE: write second.txt second\nFAKE: commit second' },
    ];

    /** The git commands of the second task only: the first made the goal branch (and the mirror) and opened the repository. */
    async function secondTaskCommands(h: Harness): Promise<Record<string, number>> {
      const { goal } = await h.createGoal(tasks, { title: 'Counted' });
      const gate = await waitForTask(h, goal.id, 'hold', 'waiting');
      h.clearGitCommands();
      await passGate(h, gate.id);
      await waitForGoal(h.db.db, goal.id, 'succeeded', WAIT_MS);
      const branch = (await getGoal(h.db.db, goal.id))!.branch!;
      expect(showFile(h.remote ?? h.repo.path, branch, 'second.txt')).toBe('second');
      return h.gitCommands();
    }

    it('in a local repository', async () => {
      const h = await startHarness({ recordGit: true });
      expect(await secondTaskCommands(h)).toEqual({
        'rev-parse': 5,
        'for-each-ref': 2,
        'worktree add': 1,
        status: 1,
        log: 1,
        diff: 1,
        'merge-base': 1,
        'merge-tree': 1,
        'commit-tree': 1,
        'update-ref': 2,
        'worktree remove': 1,
        'worktree list': 1,
      });
    });

    it('in a remote repository (file://)', async () => {
      const h = await startHarness({ recordGit: true, remote: true });
      expect(await secondTaskCommands(h)).toEqual({
        fetch: 2,
        'for-each-ref': 3,
        'rev-parse': 4,
        'worktree add': 1,
        status: 1,
        log: 1,
        diff: 1,
        push: 2,
        'merge-base': 1,
        'merge-tree': 1,
        'commit-tree': 1,
        'update-ref': 2,
        'worktree remove': 1,
        'worktree list': 1,
      });
    });
  });

  // -------------------------------------------------------------------------
  // Edges found while writing the tests above.

  it('ends the session (and its token) when merging a spawned branch back fails', async () => {
    const h = await startHarness();
    const { goal } = await h.createGoal([
      {
        key: 'm',
        title: 'Merge fails',
        session_policy: 'spawn',
        max_attempts: 1,
        instructions: 'FAKE: sleep 2000\nFAKE: write m.txt m\nFAKE: commit m',
      },
    ]);
    const running = await waitFor(
      'the session to run',
      async () => (await sessionsOf(h, goal.id)).find((s) => s.status === 'running' && s.pid !== null),
      WAIT_MS,
    );
    // Something holds git's lock on the goal branch while the agent works (as a crashed git
    // would leave it): the merge cannot publish.
    const goalBranch = (await getGoal(h.db.db, goal.id))!.branch!;
    const goalHead = git(h.repo.path, 'rev-parse', goalBranch);
    writeFileSync(path.join(h.repo.path, '.git', 'refs', 'heads', `${goalBranch}.lock`), '');

    // Held for a person (the branch is intact), not failed: the work itself was fine.
    const blocked = await waitForTask(h, goal.id, 'm', 'blocked');
    expect(blocked.error).toMatch(/failed: could not update refs\/heads\/.*cannot lock ref/);
    expect(git(h.repo.path, 'rev-parse', goalBranch)).toBe(goalHead);
    const session = (await sessionsOfTask(h, blocked.id))[0]!;
    expect(session.id).toBe(running.id);
    expect({ status: session.status, tokenHash: session.tokenHash }).toEqual({ status: 'ended', tokenHash: null });
    expect(existsSync(session.worktreePath!)).toBe(false);
  });

  it('does not resume one agent’s conversation with another agent in the pinned lane', async () => {
    const state = await mkdtemp(path.join(tmp, 'agent-state-'));
    const h = await startHarness({ extraEnv: { FAKE_AGENT_STATE: state } });
    const { goal } = await h.createGoal([
      { key: 'p1', title: 'Claude part', session_policy: 'pinned', max_attempts: 1, instructions: 'FAKE: write p1.txt one' },
      {
        key: 'p2',
        title: 'Codex part',
        session_policy: 'pinned',
        agent: 'codex',
        max_attempts: 1,
        instructions: 'FAKE: write p2.txt two',
      },
    ]);
    await waitFor(
      'the goal to finish',
      async () => {
        const g = await getGoal(h.db.db, goal.id);
        return g && ['succeeded', 'failed'].includes(g.status) ? g : undefined;
      },
      WAIT_MS,
    );
    const calls = h.transcript();
    expect(calls.map((c) => c.agent)).toEqual(['claude', 'codex']);
    // Codex starts a conversation of its own: it is never asked to resume claude's.
    const claudeConversation = calls[0]!.sessionId;
    expect(calls[1]!.argv, 'codex argv').not.toContain(claudeConversation);
    expect({ resume: Boolean(calls[1]!.resume), threadId: calls[1]!.threadId ?? null }).toEqual({ resume: false, threadId: null });
    const p2 = await task(h, goal.id, 'p2');
    expect({ status: p2.status, error: p2.error }).toEqual({ status: 'succeeded', error: null });
  });
});

/** Splits an SSE body into its events. */
function parseSse(text: string): { event: string; data: string; id?: string }[] {
  const events: { event: string; data: string; id?: string }[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (block.trim() === '') continue;
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      else if (line.startsWith('id:')) id = line.slice(3).trim();
    }
    events.push({ event, data: data.join('\n'), ...(id !== undefined ? { id } : {}) });
  }
  return events;
}

