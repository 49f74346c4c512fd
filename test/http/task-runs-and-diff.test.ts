import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { planGoalTree, type TaskSpec } from '../../server/domain/goal-tree.js';
import { createApp } from '../../server/http/app.js';
import { createLogger } from '../../server/logger.js';
import { TaskOrchestrator } from '../../server/orchestrator/task-orchestrator.js';
import { AgentSessionRunner } from '../../server/sessions/agent-session-runner.js';
import { createAgentAdapter } from '../../server/sessions/agents/index.js';
import { createGit } from '../../server/sessions/git-command.js';
import { createTaskDiffReader } from '../../server/sessions/task-diff.js';
import { WorktreeManager } from '../../server/sessions/worktrees.js';
import { insertGoalTree } from '../../server/store/goals.js';
import { call, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo, git, type TestRepo } from '../support/git-repo.js';
import { fastOptions, waitFor } from '../support/orchestration.js';

/**
 * A task's runs and its diff, as the dashboard reads them: real agent
 * processes (test/fixtures/diff-agent.mjs behind the `command` agent) in real
 * git worktrees, run by the real session runner under the real orchestrator,
 * read through the real HTTP app. One goal: a pinned `plan`, a spawned `work`,
 * a review that rejects `work` once (a rework) and then approves it.
 */

const AGENT = fileURLToPath(new URL('../fixtures/diff-agent.mjs', import.meta.url));
const logger = createLogger('silent');

let database: TestDatabase;
let tmp: string;
let prompts: string;
let repo: TestRepo;
let runner: AgentSessionRunner;
let orchestrator: TaskOrchestrator;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-diff-')));
  prompts = path.join(tmp, 'prompts');
  await mkdir(prompts);
  repo = await createGitRepo({ parent: tmp, files: { 'README.md': 'hello\n', 'old.txt': 'old\n', 'gone.txt': 'gone\n' } });
  const options = fastOptions();
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('GIT_')));
  runner = new AgentSessionRunner(
    {
      db: database.db,
      logger,
      worktrees: new WorktreeManager({ root: path.join(tmp, 'worktrees'), env: process.env }),
      agentFor: (name) => createAgentAdapter(name, { claude: { bin: 'claude', permissionMode: 'acceptEdits', extraArgs: [] }, codex: { bin: 'codex', sandbox: 'workspace-write', extraArgs: [] }, command: { argv: [process.execPath, AGENT] } }),
    },
    {
      instanceId: options.instanceId,
      apiUrl: () => 'http://127.0.0.1:9',
      baseEnv: { ...env, DIFF_AGENT_PROMPTS: prompts },
      taskTimeoutMs: 120_000,
      stallTimeoutMs: 0,
      killGraceMs: 500,
      resultGraceMs: 300,
      logMaxLines: 10_000,
      keepFailedWorktrees: false,
      ports: null,
    },
  );
  orchestrator = new TaskOrchestrator({ db: database.db, runner, logger }, options);
  await orchestrator.start();
  app = createApp({ db: database.db, logger, config: testConfig(), taskDiffs: runner.diffs });
});

afterAll(async () => {
  await orchestrator?.stop();
  await database?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

async function createGoal(tasks: TaskSpec[]) {
  const plan = planGoalTree(tasks, 'sequential', { maxTasks: 100, maxDepth: 8 });
  if (!plan.ok) throw new Error(JSON.stringify(plan.errors));
  const { goal, tasks: stored } = await insertGoalTree(
    database.db,
    { title: 'diffs', description: '', repo: repo.path, baseRef: 'main', agent: 'command', childrenMode: 'sequential', maxParallel: 2, metadata: {} },
    plan.tasks,
  );
  return { goal, ids: Object.fromEntries(stored.map((t) => [t.key, t.id])) as Record<string, string> };
}

async function taskStatus(id: string): Promise<string> {
  return (await call(app, 'GET', `/api/tasks/${id}`)).json.status;
}

const waitForStatus = (id: string, status: string) =>
  waitFor(`task ${id} to be ${status}`, async () => {
    const now = await taskStatus(id);
    if (['failed', 'blocked'].includes(now)) throw new Error(`task ${id} is ${now}: ${(await call(app, 'GET', `/api/tasks/${id}`)).json.error}`);
    return now === status;
  }, 90_000);

const runsOf = async (id: string) => (await call(app, 'GET', `/api/tasks/${id}/runs`)).json.runs as Record<string, any>[];
const diffOf = async (id: string) => (await call(app, 'GET', `/api/tasks/${id}/diff`)).json as Record<string, any>;
const promptFile = (taskId: string, n: number) => readFileSync(path.join(prompts, `${taskId}-${n}.txt`), 'utf8');

it('records each run with the exact prompt and its log range, and renders each task\'s diff from git', { timeout: 240_000 }, async () => {
  const { goal, ids } = await createGoal([
    { key: 'plan', title: 'Plan', instructions: 'DIFF: plan', session_policy: 'pinned' },
    { key: 'work', title: 'Work', instructions: 'DIFF: work', session_policy: 'spawn' },
    { key: 'review', title: 'Review', kind: 'human_review' },
  ]);

  // Before anything ran: no runs, no branch, nothing to show.
  expect((await call(app, 'GET', `/api/tasks/${ids.work}/runs`)).json).toEqual({ runs: [] });
  expect(await diffOf(ids.work!)).toEqual({ branch: null, base_sha: null, head_sha: null, files: [], patch: '', truncated: false, note: null });

  await waitForStatus(ids.review!, 'review');

  // The runs: one each, finished, with the prompt the agent read on stdin.
  const [planRun] = await runsOf(ids.plan!);
  const [workRun, ...none] = await runsOf(ids.work!);
  expect(none).toEqual([]);
  for (const [run, taskId] of [[planRun!, ids.plan!], [workRun!, ids.work!]] as const) {
    expect(run).toMatchObject({ task_id: taskId, attempt: 1, outcome: 'succeeded', error: null, started_at: expect.any(String), ended_at: expect.any(String) });
    expect(run.prompt).toBe(promptFile(taskId, 1));
    // The run's stretch of its session's log holds what the agent printed.
    const page = await call(app, 'GET', `/api/sessions/${run.session_id}/logs?after=${run.log_from_seq - 1}&limit=${run.log_to_seq - run.log_from_seq + 1}`);
    expect(page.json.lines.map((l: { text: string }) => l.text)).toEqual(expect.arrayContaining(['working 1', 'working 2', 'working 3']));
    expect(page.json.lines.at(-1).seq).toBe(run.log_to_seq);
  }
  const sessions = (await call(app, 'GET', `/api/sessions?task_id=${ids.plan}`)).json.sessions;
  expect(sessions.map((s: { id: string }) => s.id)).toEqual([planRun!.session_id]);

  // The pinned plan: the goal branch from where it started to the head it recorded.
  const planDiff = await diffOf(ids.plan!);
  expect(planDiff).toMatchObject({ base_sha: repo.initial, truncated: false, note: null });
  expect(planDiff.files).toEqual([{ path: 'plan.md', old_path: null, status: 'added', additions: 1, deletions: 0, binary: false }]);
  expect(planDiff.patch).toContain('+the plan');

  // The spawned work: its branch against the goal branch it was made from; the plan is not in it.
  const workDiff = await diffOf(ids.work!);
  const goalBranch = (await call(app, 'GET', `/api/goals/${goal.id}`)).json.goal.branch;
  expect(workDiff.branch).toBe(`${goalBranch}--work`);
  expect(workDiff.base_sha).toBe(planDiff.head_sha);
  expect(workDiff.files.sort((a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : 1))).toEqual([
    { path: 'README.md', old_path: null, status: 'modified', additions: 1, deletions: 0, binary: false },
    { path: 'feature.txt', old_path: null, status: 'added', additions: 1, deletions: 0, binary: false },
    { path: 'gone.txt', old_path: null, status: 'deleted', additions: 0, deletions: 1, binary: false },
    { path: 'new.txt', old_path: 'old.txt', status: 'renamed', additions: 0, deletions: 0, binary: false },
  ]);
  expect(workDiff.patch).toContain('+feature');
  expect(workDiff.patch).not.toContain('plan.md');

  // A rejection reworks `work`: a second run, whose prompt carries the feedback.
  const rejected = await call(app, 'POST', `/api/tasks/${ids.review}/reject`, { feedback: 'please add a second line' });
  expect(rejected.status).toBe(200);
  await waitFor('the rework to finish', async () => (await runsOf(ids.work!)).length === 2 && (await taskStatus(ids.review!)) === 'review', 90_000);
  const reworked = await runsOf(ids.work!);
  expect(reworked.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded']);
  expect(reworked[1]!.attempt).toBeGreaterThan(reworked[0]!.attempt);
  expect(reworked[1]!.prompt).toBe(promptFile(ids.work!, 2));
  expect(reworked[1]!.prompt).toContain('please add a second line');
  const workSessions = (await call(app, 'GET', `/api/sessions?task_id=${ids.work}`)).json.sessions.map((s: { id: string }) => s.id);
  expect(workSessions.sort()).toEqual(reworked.map((r) => r.session_id).sort());
  const afterRework = await diffOf(ids.work!);
  // From where the first run started: the rework's change together with the work it reworks.
  expect(afterRework.base_sha).toBe(workDiff.base_sha);
  expect(afterRework.files.find((f: { path: string }) => f.path === 'feature.txt')).toMatchObject({ additions: 2 });
  expect(afterRework.patch).toContain('+second line');

  // Approved: merged, the task branch deleted; the diff now comes from the head its run recorded.
  expect((await call(app, 'POST', `/api/tasks/${ids.review}/approve`, {})).status).toBe(200);
  await waitFor('the goal to succeed', async () => (await call(app, 'GET', `/api/goals/${goal.id}`)).json.goal.status === 'succeeded', 60_000);
  expect(git(repo.path, 'branch', '--list', `${goalBranch}--work`)).toBe('');
  const merged = await diffOf(ids.work!);
  expect(merged).toMatchObject({ head_sha: afterRework.head_sha, base_sha: afterRework.base_sha, note: null });
  expect(merged.files).toEqual(afterRework.files);
});

it('cuts a large patch at a line and says so; the file list stays whole', { timeout: 120_000 }, async () => {
  const { ids } = await createGoal([{ key: 'big', title: 'Big', instructions: 'DIFF: big', session_policy: 'spawn' }]);
  await waitForStatus(ids.big!, 'succeeded');
  const small = createTaskDiffReader({ db: database.db, git: createGit(process.env), localPath: (r) => r, maxPatchBytes: 4096 });
  const diff = (await small(ids.big!))!;
  expect(diff.truncated).toBe(true);
  expect(Buffer.byteLength(diff.patch)).toBeLessThanOrEqual(4096);
  expect(diff.patch.endsWith('\n')).toBe(true);
  expect(diff.files).toEqual([{ path: 'big.txt', old_path: null, status: 'added', additions: 2000, deletions: 0, binary: false }]);
  const whole = await diffOf(ids.big!);
  expect(whole.truncated).toBe(false);
  expect(whole.patch).toContain('+line 1999');
});

it('404 for a task that does not exist', async () => {
  for (const what of ['runs', 'diff']) {
    expect((await call(app, 'GET', `/api/tasks/00000000-0000-4000-8000-000000000000/${what}`)).status).toBe(404);
    expect((await call(app, 'GET', `/api/tasks/nope/${what}`)).status).toBe(404);
  }
});
