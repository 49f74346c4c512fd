import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo, logSubjects, showFile, type TestRepo } from '../support/git-repo.js';
import { postGoal } from '../support/goal-requests.js';
import { byTaskTitle, inOrder, taskTitle, type Script, type ServedTurn } from '../support/model-stubs/script.js';
import { waitFor } from '../support/orchestration.js';
import { requireRealClis } from '../support/real-clis.js';
import { killAllServers, startServer, type ServerProcess } from '../support/server-process.js';
import type { CliDialect, ModelStub } from './dialects.js';

/**
 * The real agent CLI against a local stub of its model API, run by the real
 * Arbor server (a child process) on a real git repository. The stub's script
 * is chosen per scenario by a marker in the task's title, so all scenarios of
 * a file share one stub and one server.
 */

/** Arbor's stall limit in these tests: a hanging model stream ends the run after this long without output. */
const STALL_S = 8;
const SCENARIO_TIMEOUT_MS = 120_000;

type Row = Record<string, unknown> & { id: string; key: string; status: string; error: string | null; result: unknown; parentId: string | null };

export function realCliScenarios(cli: CliDialect): void {
  const scripts: Record<string, Script> = {};
  let database: TestDatabase;
  let tmp: string;
  let repo: TestRepo;
  let stub: ModelStub;
  let server: ServerProcess;
  let bin: string | undefined;
  let cliEnv: Record<string, string>;

  const serverEnv = (binPath: string): Record<string, string> => ({
    ARBOR_AGENT: cli.name,
    [cli.binVariable]: binPath,
    ARBOR_WORKTREE_ROOT: path.join(tmp, 'worktrees'),
    ARBOR_POLL_INTERVAL_MS: '100',
    ARBOR_RETRY_BASE_MS: '0',
    ARBOR_STALL_TIMEOUT_S: String(STALL_S),
    ARBOR_KILL_GRACE_MS: '1000',
    // The agents' home: their settings, conversations and caches stay in the test's temp dir.
    HOME: path.join(tmp, 'home'),
    ...cliEnv,
  });

  beforeAll(async () => {
    bin = (await requireRealClis(cli.name)).bins[cli.name];
    if (!bin) return;
    database = await createTestDatabase();
    tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), `arbor-real-${cli.name}-`)));
    repo = await createGitRepo({ parent: tmp, files: { 'README.md': 'hello\n' } });
    stub = await cli.startStub(byTaskTitle(scripts, inOrder([], 'Nothing scripted for this prompt.')));
    cliEnv = await cli.environment(stub.url, tmp);
    // As on a developer's machine, the agents' git has an identity for their own commits.
    await mkdir(path.join(tmp, 'home'));
    await writeFile(path.join(tmp, 'home', '.gitconfig'), '[user]\n\tname = Agent\n\temail = agent@example.com\n');
    server = await startServer({ dataDir: path.join(tmp, 'data'), databaseUrl: database.url, env: serverEnv(bin) });
  }, 300_000);

  afterAll(async () => {
    await killAllServers();
    await stub?.close();
    await database?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 120_000);

  const tasksOf = async (goalId: string): Promise<Row[]> =>
    (await database.db.selectFrom('tasks').selectAll().where('goalId', '=', goalId).orderBy('createdAt').execute()) as unknown as Row[];

  /** Waits until every task of the goal is in one of `settled` and returns them. */
  const settle = async (goalId: string, settled = ['succeeded', 'failed', 'blocked', 'cancelled', 'skipped']): Promise<Row[]> =>
    waitFor(
      `the tasks of goal ${goalId} to settle`,
      async () => {
        const tasks = await tasksOf(goalId);
        return tasks.length > 0 && tasks.every((t) => settled.includes(t.status)) ? tasks : undefined;
      },
      SCENARIO_TIMEOUT_MS - 10_000,
    );

  /** A one-task goal whose title carries `marker`, run with the script `script`. */
  const runOneTask = async (marker: string, script: Script) => {
    scripts[marker] = script;
    const { goal, tasks } = await postGoal(server.url, {
      title: `goal ${marker}`,
      repo: repo.path,
      base_ref: 'main',
      tasks: [{ key: 'work', title: `Task ${marker}`, session_policy: 'spawn', max_attempts: 1 }],
    });
    const settled = await settle(goal.id);
    const { branch } = await database.db.selectFrom('goals').select('branch').where('id', '=', goal.id).executeTakeFirstOrThrow();
    return { goal: { id: goal.id, branch: branch! }, task: settled.find((t) => t.id === tasks[0]!.id)!, tasks: settled };
  };

  const outcome = (task: Row): string => JSON.stringify({ status: task.status, error: task.error, result: task.result });

  /** What the CLI sent back to the model as tool results in the runs of the task titled with `marker`: shows why a tool call did nothing. */
  const toolResultsOf = (marker: string): string =>
    stub.turns
      .filter((t) => taskTitle(t.prompt).includes(marker))
      .flatMap((t) => t.toolResults)
      .join(' | ');

  describe(`${cli.name} (real CLI)`, () => {
    const scenario = (title: string, body: () => Promise<void>) =>
      it(title, { timeout: SCENARIO_TIMEOUT_MS }, async (ctx) => {
        if (!bin) ctx.skip();
        await body();
      });

    scenario('a pinned lane of three tasks resumes one conversation; per-run costs and tokens add up to what was served', async () => {
      for (const n of [1, 2, 3]) scripts[`[lane-${n}]`] = inOrder([cli.shell(`echo lane ${n} > lane-${n}.txt`)], `lane ${n} done`);
      const servedBefore = stub.served.length;
      const { goal } = await postGoal(server.url, {
        title: 'pinned lane',
        repo: repo.path,
        base_ref: 'main',
        children_mode: 'sequential',
        tasks: [1, 2, 3].map((n) => ({ key: `lane${n}`, title: `Lane step [lane-${n}]`, session_policy: 'pinned', max_attempts: 1 })),
      });
      const tasks = await settle(goal.id);
      expect(tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);

      // One conversation: the third task's requests still carry the first task's own tool call.
      const lastRun = stub.modelRequests().filter((r) => /# Task: [^\n]*\[lane-3\]/.test(JSON.stringify(r.body).replaceAll('\\n', '\n')));
      expect(lastRun.length).toBeGreaterThan(0);
      expect(JSON.stringify(lastRun.at(-1)!.body)).toContain('echo lane 1 > lane-1.txt');
      const sessions = await database.db.selectFrom('sessions').selectAll().where('goalId', '=', goal.id).execute();
      expect(new Set(sessions.map((s) => s.agentSessionId)).size).toBe(1);

      const served: ServedTurn[] = stub.served.slice(servedBefore);
      const recordedIn = sessions.reduce((sum, s) => sum + Number(s.inputTokens), 0);
      const recordedOut = sessions.reduce((sum, s) => sum + Number(s.outputTokens), 0);
      expect({ input: recordedIn, output: recordedOut }).toEqual({
        input: served.reduce((sum, t) => sum + t.inputTokens, 0),
        output: served.reduce((sum, t) => sum + t.outputTokens, 0),
      });
      const cost = cli.cost(served);
      if (cost !== null) {
        const goalRow = await database.db.selectFrom('goals').select('costUsd').where('id', '=', goal.id).executeTakeFirstOrThrow();
        expect(Number(goalRow.costUsd)).toBeCloseTo(cost, 6);
      }
      const { branch } = await database.db.selectFrom('goals').select('branch').where('id', '=', goal.id).executeTakeFirstOrThrow();
      expect(showFile(repo.path, branch!, 'lane-3.txt')).toBe('lane 3\n');
    });

    scenario("the agent's own git commit lands on the goal branch", async () => {
      const { goal, task } = await runOneTask(
        '[own-commit]',
        inOrder([cli.shell('echo mine > own.txt && git add own.txt && git commit -q -m "agent: own commit" && git log -1 --format=%s')], 'committed'),
      );
      expect(outcome(task)).toContain('succeeded');
      expect(logSubjects(repo.path, goal.branch!)).toContain('agent: own commit');
    });

    scenario('the agent reports blocked through the MCP tool: the task ends blocked with its reason', async () => {
      const reason = 'the schema file the task names does not exist';
      const { task } = await runOneTask('[mcp-block]', inOrder([...cli.mcp('arbor_block', { reason })], 'reported blocked'));
      expect(task.status, `tool results: ${toolResultsOf('[mcp-block]')}`).toBe('blocked');
      expect(outcome(task)).toContain(reason);
    });

    scenario('the agent adds three subtasks through the MCP tool, and they run', async () => {
      for (const n of [1, 2, 3]) scripts[`[sub-${n}]`] = inOrder([cli.shell(`echo sub ${n} > sub-${n}.txt`)], `sub ${n} done`);
      const subtasks = [1, 2, 3].map((n) => ({ key: `sub${n}`, title: `Subtask [sub-${n}]` }));
      const { tasks, task } = await runOneTask('[mcp-split]', inOrder([...cli.mcp('arbor_add_subtasks', { tasks: subtasks })], 'split into three'));
      const children = tasks.filter((t) => t.parentId === task.id);
      expect(children.map((t) => [t.key, t.status]), `tool results: ${toolResultsOf('[mcp-split]')}`).toEqual([
        ['sub1', 'succeeded'],
        ['sub2', 'succeeded'],
        ['sub3', 'succeeded'],
      ]);
      for (const n of [1, 2, 3]) expect(stub.modelRequests().some((r) => JSON.stringify(r.body).includes(`[sub-${n}]`))).toBe(true);
    });

    if (cli.name === 'claude') {
      // Codex has no denials to report: its sandbox lets a command run and fail instead.
      scenario('a denied tool shows in the outcome', async () => {
        // Writing outside its worktree is what an unattended agent is never allowed.
        const outside = path.join(tmp, 'outside-the-worktree.txt');
        const { task } = await runOneTask('[denied]', inOrder([{ kind: 'tool', name: 'Write', input: { file_path: outside, content: 'x\n' } }], 'could not write'));
        expect(toolResultsOf('[denied]')).toMatch(/permission|approv/i);
        expect(existsSync(outside)).toBe(false);
        expect(outcome(task)).toMatch(/denied/i);
        expect(outcome(task)).toContain('Write');
      });
    }

    scenario('API 500 ends the task with a message that says so', async () => {
      const { task } = await runOneTask('[api-500]', () => ({ kind: 'error', status: 500 }));
      expect(task.status).toBe('failed');
      expect(task.error).toMatch(cli.apiError[500]);
    });

    scenario('API 529 (overloaded) ends the task with a message that says so', async () => {
      const { task } = await runOneTask('[api-529]', () => ({ kind: 'error', status: 529 }));
      expect(task.status).toBe('failed');
      expect(task.error).toMatch(cli.apiError[529]);
    });

    scenario('a model stream that hangs ends the task with the stall limit in its message', async () => {
      const { task } = await runOneTask('[hang]', () => ({ kind: 'hang' }));
      expect(task.status).toBe('failed');
      expect(task.error).toMatch(/no output|stall/i);
      expect(task.error).toMatch(new RegExp(`\\b${STALL_S}\\s*(s|sec|seconds)\\b`));
    });

    scenario('a binary gone by the time a task runs: the task fails with a message that names it', async () => {
      // A server of its own whose CLI is a link that the first task's model turn removes.
      const link = path.join(tmp, 'vanishing', cli.name);
      await mkdir(path.dirname(link), { recursive: true });
      await symlink(bin!, link);
      scripts['[before-vanish]'] = (turn) => {
        rmSync(link, { force: true });
        return inOrder([], 'the CLI is gone now')(turn);
      };
      const ownDatabase = await createTestDatabase();
      const other = await startServer({ dataDir: path.join(tmp, 'data-vanishing'), databaseUrl: ownDatabase.url, env: serverEnv(link) });
      try {
        const { goal } = await postGoal(other.url, {
          title: 'goal [vanishing-bin]',
          repo: repo.path,
          base_ref: 'main',
          children_mode: 'sequential',
          tasks: [
            { key: 'first', title: 'Task [before-vanish]', session_policy: 'spawn', max_attempts: 1 },
            { key: 'second', title: 'Task [after-vanish]', session_policy: 'spawn', max_attempts: 1 },
          ],
        });
        const second = await waitFor(
          'the second task to end',
          async () => {
            const row = await ownDatabase.db.selectFrom('tasks').selectAll().where('goalId', '=', goal.id).where('key', '=', 'second').executeTakeFirst();
            return row && ['failed', 'succeeded', 'blocked'].includes(row.status) ? row : undefined;
          },
          SCENARIO_TIMEOUT_MS - 20_000,
        );
        expect(second.status).toBe('failed');
        expect(second.error).toContain(link);
        expect(second.error).toMatch(/not found|ENOENT|no such file|not installed/i);
      } finally {
        await other.stop('SIGTERM');
        await ownDatabase.destroy();
      }
    });

    scenario('a missing binary: the goal is refused with a message that names it and says what to do', async () => {
      // A server of its own (and a database of its own, so the main server cannot take the goal).
      const missing = path.join(tmp, 'no-such-dir', cli.name);
      const ownDatabase = await createTestDatabase();
      const other = await startServer({ dataDir: path.join(tmp, 'data-missing'), databaseUrl: ownDatabase.url, env: serverEnv(missing) });
      try {
        const res = await fetch(`${other.url}/api/goals`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ title: 'goal [missing-bin]', repo: repo.path, base_ref: 'main', tasks: [{ key: 'work', title: 'Task [missing-bin]' }] }),
        });
        expect(res.status).toBe(422);
        const { error } = (await res.json()) as { error: string };
        expect(error).toContain(missing);
        expect(error).toMatch(/not installed|not found/i);
        expect(error).toContain(cli.binVariable);
      } finally {
        await other.stop('SIGTERM');
        await ownDatabase.destroy();
      }
    });
  });
}
