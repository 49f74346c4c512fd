import { execFileSync } from 'node:child_process';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectDatabase } from '../server/db/database.js';
import { NotificationListener } from '../server/db/notification-listener.js';
import { TaskOrchestrator } from '../server/orchestrator/task-orchestrator.js';
import { createGit } from '../server/sessions/git-command.js';
import { GoalRepos } from '../server/sessions/goal-repo.js';
import { RepoMirrors } from '../server/sessions/repo-mirror.js';
import { WorktreeManager } from '../server/sessions/worktrees.js';
import { EVENTS_CHANNEL } from '../server/store/events.js';
import { ScriptedRunner } from '../test/support/scripted-runner.js';
import type { Cleanup } from './cleanup.js';
import { withPartCleanup, type BenchContext } from './context.js';
import { openBenchDatabase } from './database.js';
import { figure, note, seconds } from './output.js';
import { benchOptions, createGoal, leafTasks, waitForGoalEnd, type Rig } from './rig.js';
import { describeSummary, median, summarize } from './stats.js';

/**
 * The scale-out figures.
 *
 * - scale.merge_ms: merging one task branch (one new file) into a goal branch
 *   without a worktree, as a spawned run's merge-back does, timed from the
 *   call to the goal branch holding the merge: on a local repository (a
 *   merge-tree, a commit-tree and a compare-and-swap of the ref), and on a
 *   `file://` remote through this instance's mirror (also a fetch of the goal
 *   branch and a push with a lease). The task branches are made beforehand,
 *   untimed. Medians of BENCH_SCALE_MERGES merges each.
 * - scale.parallel_10k_1, _2, _3: a goal of BENCH_PARALLEL independent tasks
 *   drained by 1, 2 or 3 orchestrators on one database, each with its own
 *   connection pool, LISTEN connection and in-process runner whose tasks
 *   succeed at once; tasks/s from the goal's insert to its roll-up.
 *   What grows with instances is claim contention, not work per task.
 */
export async function measureScale(ctx: BenchContext): Promise<void> {
  await withPartCleanup(ctx, 'scale', async (cleanup) => {
    await measureMerges(ctx, cleanup);
    for (const instances of [1, 2, 3]) {
      const tasksPerSecond = await measureParallelInstances(ctx, cleanup, instances);
      figure(`scale.parallel_10k_${instances}`, tasksPerSecond, 'tasks/s', 0);
    }
  });
}

async function measureMerges(ctx: BenchContext, cleanup: Cleanup): Promise<void> {
  const tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-bench-scale-')));
  cleanup.add(`remove ${tmp}`, () => rm(tmp, { recursive: true, force: true }));
  const repo = path.join(tmp, 'repo');
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@localhost', ...args], { cwd, encoding: 'utf8' }).trim();
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  await writeFile(path.join(repo, 'README.md'), 'bench\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  const remote = path.join(tmp, 'remote.git');
  git(tmp, 'clone', '-q', '--bare', repo, remote);

  const samples = ctx.settings.scale.merges;
  const worktrees = new WorktreeManager({ root: path.join(tmp, 'worktrees'), env: process.env });
  const repos = new GoalRepos(worktrees, new RepoMirrors(createGit(process.env), path.join(tmp, 'mirrors')));
  for (const [label, location, name] of [
    ['local', repo, 'scale.merge_ms'],
    ['file:// remote', `file://${remote}`, 'scale.merge_ms_remote'],
  ] as const) {
    const where = await repos.open(location);
    const goal = { id: name === 'scale.merge_ms' ? '00000001-bench' : '00000002-bench', title: `bench ${label}`, baseRef: 'main', branch: null };
    const { branch } = await repos.ensureGoalBranch(where, goal);
    // Task branches of one commit each (a file of their own) off the goal branch, made with plumbing, untimed.
    const base = git(where.local, 'rev-parse', `refs/heads/${branch}`);
    const baseTree = git(where.local, 'rev-parse', `${base}^{tree}`);
    const tasks: string[] = [];
    for (let i = 0; i < samples; i++) {
      const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: where.local, input: `task ${i}\n`, encoding: 'utf8' }).trim();
      const listing = execFileSync('git', ['ls-tree', baseTree], { cwd: where.local, encoding: 'utf8' });
      const tree = execFileSync('git', ['mktree'], { cwd: where.local, input: `${listing}100644 blob ${blob}\ttask-${i}.txt\n`, encoding: 'utf8' }).trim();
      const commit = git(where.local, 'commit-tree', tree, '-p', base, '-m', `task ${i}`);
      const taskBranch = WorktreeManager.taskBranchName(branch, `t${i}`);
      git(where.local, 'update-ref', `refs/heads/${taskBranch}`, commit);
      if (where.remote) await where.remote.pushWithLease(commit, taskBranch, null);
      tasks.push(taskBranch);
    }
    const times: number[] = [];
    for (const taskBranch of tasks) {
      const began = performance.now();
      const merged = await worktrees.mergeTaskBranch(where.local, branch, taskBranch, `merge ${taskBranch}`, where.remote ? { tip: where.remote.branchTip(branch) } : {});
      times.push(performance.now() - began);
      if (merged.kind !== 'merged') throw new Error(`merge of ${taskBranch} came to ${merged.kind}`);
    }
    note(`merge (${label}): ${describeSummary(summarize(times))}`);
    figure(name, median(times), 'ms', 1);
  }
}

async function measureParallelInstances(ctx: BenchContext, cleanup: Cleanup, instances: number): Promise<number> {
  const { db, url } = await openBenchDatabase(cleanup, ctx.adminUrl, ctx.logger, ctx.counter, { label: `scale x${instances}` });
  const watcher = new NotificationListener(url, EVENTS_CHANNEL, ctx.logger);
  await watcher.start();
  cleanup.add('stop the scale watcher', () => watcher.stop());
  const rig: Rig = { db, cleanup, listener: watcher, logger: ctx.logger };

  const runners: ScriptedRunner[] = [];
  const stops: (() => Promise<void>)[] = [];
  for (let i = 0; i < instances; i++) {
    // As another process would be: its own pool and LISTEN connection.
    const handle = connectDatabase(url, { poolSize: 10, logger: ctx.logger });
    const listener = new NotificationListener(url, EVENTS_CHANNEL, ctx.logger);
    await listener.start();
    const runner = new ScriptedRunner(() => ({ outcome: { kind: 'succeeded' } }));
    const orchestrator = new TaskOrchestrator({ db: handle.db, runner, logger: ctx.logger, notifications: listener }, benchOptions(`scale${instances}-${i}`));
    const stop = cleanup.add(`stop scale orchestrator ${i}`, async () => {
      await orchestrator.stop();
      await listener.stop();
      await handle.close();
    });
    await orchestrator.start();
    runners.push(runner);
    stops.push(stop);
  }
  try {
    const tasks = ctx.settings.parallelTasks;
    const start = performance.now();
    const goalId = await createGoal(db, `bench scale x${instances}`, leafTasks(tasks, 's'), 'parallel', ctx.settings.parallelMaxParallel);
    const ended = () => runners.reduce((n, r) => n + r.runs.filter((run) => run.goalId === goalId && run.endedAt !== undefined).length, 0);
    const end = await waitForGoalEnd(rig, goalId, ctx.settings.goalTimeoutMs, () => ended() >= tasks);
    if (end.status !== 'succeeded') throw new Error(`scale goal ended ${end.status}`);
    const runs = runners.flatMap((r) => r.runs.filter((run) => run.goalId === goalId));
    if (runs.length !== tasks || new Set(runs.map((r) => r.taskId)).size !== tasks) {
      throw new Error(`expected ${tasks} single runs over ${instances} instances, saw ${runs.length}`);
    }
    const shares = runners.map((r) => r.runs.filter((run) => run.goalId === goalId).length).join(' / ');
    note(`scale x${instances}: ${tasks} tasks in ${seconds(end.at - start)}, runs per instance ${shares}`);
    return tasks / ((end.at - start) / 1000);
  } finally {
    for (const stop of stops) await stop();
  }
}
