import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../server/config.js';
import type { TaskSpec } from '../server/domain/goal-tree.js';
import { createGithubClient } from '../server/github/github-client.js';
import { withPullRequests } from '../server/github/pull-request-runner.js';
import type { Logger } from '../server/logger.js';
import { createArborMetrics } from '../server/observability/arbor-metrics.js';
import { withObservation } from '../server/observability/observed-runner.js';
import { wrapRuns, type SessionRunner } from '../server/orchestrator/session-runner.js';
import { createSessionRunner } from '../server/sessions/session-runner-factory.js';
import type { BenchContext } from './context.js';
import { describeDelta } from './counters.js';
import { checkpoint } from './history.js';
import { figure, note, seconds } from './output.js';
import { waitForGoalEnd, withRunningOrchestrator, type Rig } from './rig.js';
import { createGoal, generateRepo, git, goalErrors } from './sessions.js';

/**
 * How fast one instance drains spawned agent tasks that do real git work, and
 * what that costs the process running it: some twenty git processes a task,
 * which the server starts from its spawner process (forked from the server
 * itself, each would copy its page tables on the event loop).
 *
 * The runner is the server's: createSessionRunner
 * (server/sessions/session-runner-factory.ts) given a Config that loadConfig
 * parses from an environment, wrapped for pull requests and observation as
 * startArbor wraps it, under a TaskOrchestrator with that Config's
 * orchestrator settings, woken by NOTIFY. So whatever the factory changes
 * (where git runs, say) is what is measured. The environment is the bench's
 * own without GIT_* variables, with the bench's settings on top: data dir
 * and worktree root under the sessions part's directory, the `command` agent
 * running bench/agents/commit-agent.mjs at BENCH_AGENT_NICE, max sessions
 * BENCH_SPAWNED_SESSIONS (6) and no spawn rate limit (the server's default,
 * two a second, would make the figure the limit's). Any other ARBOR_*
 * variable set for the bench reaches the Config as it would the server's.
 *
 * The goal's repository is a bare one on this machine reached as a
 * `file://` URL, so tasks take the path they take with a git host: this
 * instance's mirror fetched, a worktree added, the task branch pushed, the
 * merge made without a worktree and pushed with a lease, the worktree
 * removed. Each agent writes a file of its own and commits it, as agents
 * commit their work (Arbor commits only what they leave behind).
 *
 * One goal of one task runs first, unmeasured: it clones the mirror and warms
 * the code paths, as a server has done before any goal but its first. Then
 * one goal of BENCH_SPAWNED_TASKS (60) independent spawned tasks, timed from
 * just before its insert to the moment the bench sees it succeeded (read on
 * the notification of its roll-up, once every run has returned):
 *
 *   session.spawned_tasks_per_s        tasks over that window
 *   session.spawned_event_loop_p99_ms  this process's event loop delay p99 over it
 *                                      (monitorEventLoopDelay, 10 ms resolution)
 *   session.spawned_cpu_ms_per_task    this process's CPU time over it (process.cpuUsage,
 *                                      user + system, all its threads; not its children:
 *                                      git and the agents), per task
 *
 * Then checked: the goal branch on the remote holds every task's file, or
 * the part fails.
 */

const COMMIT_AGENT = fileURLToPath(new URL('./agents/commit-agent.mjs', import.meta.url));
/** The agents here never call the API: nothing needs to listen there. */
const API_URL = 'http://127.0.0.1:9';
const MIB = 1024 * 1024;

export async function measureSpawnedTasks(ctx: BenchContext, rig: Rig, tmp: string): Promise<void> {
  const { spawnedTasks: tasks, spawnedSessions } = ctx.settings.sessions;
  const remote = await bareRemote(tmp);
  const config = configLikeTheServer(ctx, tmp);
  for (const warning of config.warnings) note(`spawned: config: ${warning}`);
  const returned = countingReturns(runnerLikeTheServer(rig, config, ctx.logger));
  const options = { instanceId: config.instanceId, stopGraceMs: 5_000, ...config.orchestrator };

  await withRunningOrchestrator(rig, 'spawned', returned.runner, options, async () => {
    let t = performance.now();
    await drain(ctx, rig, remote, 1, returned.count);
    note(`spawned: warm-up goal of 1 task (the mirror cloned) in ${seconds(performance.now() - t)}`);
    await checkpoint(rig.db);

    const rssBefore = process.memoryUsage.rss();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    const counterBefore = ctx.counter.snapshot();
    ctx.counter.discard();
    delay.enable();
    const cpuBefore = process.cpuUsage();
    const { goalId, elapsedMs } = await drain(ctx, rig, remote, tasks, returned.count);
    const cpu = process.cpuUsage(cpuBefore);
    delay.disable();
    const counterAfter = ctx.counter.snapshot();

    const missing = await tasksMissingFromRemote(rig, remote, goalId);
    if (missing.length > 0) {
      throw new Error(`spawned: the goal branch on the remote lacks the files of ${missing.length} of ${tasks} tasks (${missing.slice(0, 5).join(', ')})`);
    }
    const secs = elapsedMs / 1000;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const ms = (ns: number) => ns / 1e6;
    note(
      `spawned: ${tasks} tasks, ${spawnedSessions} sessions at most, drained in ${secs.toFixed(1)} s, every file on the remote's goal branch; ` +
        `RSS at the start ${(rssBefore / MIB).toFixed(0)} MB`,
    );
    note(
      `spawned: event loop delay p50 ${ms(delay.percentile(50)).toFixed(1)}, p99 ${ms(delay.percentile(99)).toFixed(1)}, ` +
        `max ${ms(delay.max).toFixed(1)} ms; this process used ${(cpuMs / 1000 / secs).toFixed(2)} cores ` +
        `(user ${(cpu.user / 1000 / tasks).toFixed(0)}, system ${(cpu.system / 1000 / tasks).toFixed(0)} ms a task)`,
    );
    note(`spawned: ${await retriedTasks(rig, goalId)} tasks ran more than once`);
    note(`spawned: ${describeDelta(counterBefore, counterAfter, tasks, 'task')}`);
    ctx.counter.report('spawned');
    figure('session.spawned_tasks_per_s', tasks / secs, 'tasks/s', 2);
    figure('session.spawned_event_loop_p99_ms', ms(delay.percentile(99)), 'ms', 1);
    figure('session.spawned_cpu_ms_per_task', cpuMs / tasks, 'ms', 0);
  });
}

/**
 * A goal of `tasks` independent spawned tasks on the remote, from just before
 * its insert until it is seen to have succeeded; it throws if it ended otherwise.
 */
async function drain(
  ctx: BenchContext,
  rig: Rig,
  remote: string,
  tasks: number,
  returnedRuns: () => number,
): Promise<{ goalId: string; elapsedMs: number }> {
  const specs: TaskSpec[] = Array.from({ length: tasks }, (_, i) => ({
    key: `commit-${i}`,
    title: `Commit ${i}`,
    instructions: 'write a file of your own and commit it',
    session_policy: 'spawn',
  }));
  const before = returnedRuns();
  const began = performance.now();
  const { goalId } = await createGoal(rig.db, `bench spawned ${tasks}`, `file://${remote}`, 'command', specs, 'parallel', tasks);
  // Until every run has returned the goal cannot have succeeded: only the slow poll looks before then.
  const end = await waitForGoalEnd(rig, goalId, ctx.settings.goalTimeoutMs, () => returnedRuns() - before >= tasks);
  if (end.status !== 'succeeded') throw new Error(`spawned: goal of ${tasks} tasks ended ${end.status}: ${await goalErrors(rig.db, goalId)}`);
  return { goalId, elapsedMs: end.at - began };
}

/**
 * A bare repository standing in for a git host. As on a host, its
 * housekeeping runs elsewhere: a `gc --auto` after a push would compete with
 * the server for the same two cores.
 */
async function bareRemote(tmp: string): Promise<string> {
  const seed = await generateRepo(path.join(tmp, 'spawned-seed'), 20);
  const remote = path.join(tmp, 'spawned-remote.git');
  await git(tmp, 'clone', '-q', '--bare', seed.path, remote);
  await git(remote, 'config', 'receive.autogc', 'false');
  return remote;
}

/** The Config a server would parse from its environment, with the bench's settings for this measurement. */
function configLikeTheServer(ctx: BenchContext, tmp: string): Config {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GIT_')));
  return loadConfig({
    ...env,
    ARBOR_INSTANCE_ID: `bench-spawned-${randomBytes(3).toString('hex')}`,
    ARBOR_DATA_DIR: path.join(tmp, 'spawned-data'),
    ARBOR_WORKTREE_ROOT: path.join(tmp, 'spawned-worktrees'),
    ARBOR_AGENT: 'command',
    // A JSON array: the paths are taken as they are, spaces and all.
    ARBOR_AGENT_COMMAND: JSON.stringify([process.execPath, COMMIT_AGENT]),
    ARBOR_AGENT_NICE: String(ctx.settings.agentNice),
    ARBOR_MAX_SESSIONS: String(ctx.settings.sessions.spawnedSessions),
    ARBOR_SPAWN_PER_SECOND: '0',
    ARBOR_DASHBOARD: 'off',
    // Nothing listens here; a HOST in the bench's environment must not make the Config refuse to load.
    HOST: '127.0.0.1',
  });
}

/** createSessionRunner's runner, wrapped as startArbor wraps it. */
function runnerLikeTheServer(rig: Rig, config: Config, logger: Logger): SessionRunner {
  const metrics = createArborMetrics({ db: rig.db, logger });
  return withObservation(
    withPullRequests(createSessionRunner({ db: rig.db, config, logger, apiUrl: () => API_URL }), createGithubClient(config.github), logger, rig.db),
    { db: rig.db, metrics, logger, retry: config.orchestrator.retry },
  );
}

/** `inner` with a count of the runs it has returned, so the goal watcher stays idle until one could have ended the goal. */
function countingReturns(inner: SessionRunner): { runner: SessionRunner; count: () => number } {
  let returned = 0;
  const runner = wrapRuns(inner, async (assignment) => {
    try {
      return await inner.run(assignment);
    } finally {
      returned += 1;
    }
  });
  return { runner, count: () => returned };
}

/** The goal's tasks whose file is not on the remote's goal branch. */
async function tasksMissingFromRemote(rig: Rig, remote: string, goalId: string): Promise<string[]> {
  const goal = await rig.db.selectFrom('goals').select('branch').where('id', '=', goalId).executeTakeFirstOrThrow();
  if (!goal.branch) throw new Error(`spawned: goal ${goalId} succeeded without a branch`);
  const files = new Set((await git(remote, 'ls-tree', '--name-only', `refs/heads/${goal.branch}`)).split('\n'));
  const tasks = await rig.db.selectFrom('tasks').select('id').where('goalId', '=', goalId).where('kind', '=', 'agent').execute();
  return tasks.map((t) => t.id).filter((id) => !files.has(`task-${id}.txt`));
}

async function retriedTasks(rig: Rig, goalId: string): Promise<number> {
  const rows = await rig.db.selectFrom('tasks').select('id').where('goalId', '=', goalId).where('attempt', '>', 1).execute();
  return rows.length;
}
