import { existsSync } from 'node:fs';
import os from 'node:os';
import { untilDatabaseAnswers } from '../db/availability.js';
import type { AgentName } from '../domain/states.js';
import type { TaskDiffReader } from '../domain/task-diff.js';
import type { TaskOutcome } from '../domain/task-rules.js';
import type { GoalPreflight, GoalRequirements, SessionAssignment, SessionRunner } from '../orchestrator/session-runner.js';
import { releaseFinishedLanes } from '../store/goal-lanes.js';
import { endedGoalsByIdPrefix, getGoal, setGoalBranch } from '../store/goals.js';
import { releasePortBlocksOf } from '../store/port-blocks.js';
import { endTaskRun, interruptSessionRuns } from '../store/task-runs.js';
import {
  endFinishedPinnedSessions,
  findOrphanedSessions,
  recordSessionRunEnd,
  sessionsToStop,
  touchSessions,
  worktreesInUse,
  type Session,
} from '../store/sessions.js';
import { endOrphanGroup } from './agent-process.js';
import { launchAgent, type LiveRun } from './agent-launch.js';
import type { AgentAdapter } from './agents/index.js';
import { createGit } from './git-command.js';
import { GoalRepos, type GoalRepo } from './goal-repo.js';
import { runPinned } from './pinned-lane.js';
import { NO_RUN, describe, type AgentRunEnd, type AgentRunRequest, type Goal, type RunnerContext, type SessionRunnerDeps, type SessionSettings } from './runner-context.js';
import { runSpawned } from './spawned-run.js';
import { createTaskDiffReader } from './task-diff.js';

export type { SessionRunnerDeps, SessionSettings } from './runner-context.js';

/** How often live sessions are heartbeated and checked for stop requests. */
const WATCH_INTERVAL_MS = 1000;
/** A session whose owner has not heartbeated it for this long is an orphan. */
const ORPHAN_AFTER_MS = 30_000;
/** Goal worktrees left by lanes that moved away are looked for every this many watches. */
const GOAL_WORKTREE_SWEEP_EVERY = 5;

/**
 * Runs agent tasks as real CLI processes in git worktrees: a spawned session
 * in its own worktree and branch, merged back into the goal branch when it
 * succeeds; the goal's pinned session in the goal's worktree, resuming one
 * conversation task after task. Records sessions, logs, cost and tokens, and
 * turns how the process ended into the task's outcome.
 */
export class AgentSessionRunner implements SessionRunner, RunnerContext {
  readonly host = os.hostname();
  readonly repos: GoalRepos;
  /** Diffs of tasks' work, read as the agents' user like all of the sessions' git. */
  readonly diffs: TaskDiffReader;
  private readonly live = new Map<string, LiveRun>();
  private watchTimer: NodeJS.Timeout | null = null;
  private watchCount = 0;
  private watching: Promise<void> | null = null;

  constructor(
    readonly deps: SessionRunnerDeps,
    readonly settings: SessionSettings,
  ) {
    this.repos = new GoalRepos(deps.worktrees, deps.mirrors ?? null);
    this.diffs = createTaskDiffReader({
      db: deps.db,
      git: createGit(settings.baseEnv, { user: settings.agentUser ?? null, spawner: deps.spawner }),
      localPath: (repo) => this.repos.localPath(repo),
    });
  }

  get preflight(): GoalPreflight | undefined {
    return this.deps.preflight;
  }

  async start(): Promise<void> {
    // Started again under its id: the sessions that held these blocks are gone.
    await releasePortBlocksOf(this.deps.db, this.settings.instanceId);
    await this.pruneWorktrees();
    this.watchTimer = setInterval(() => {
      // Never two at once: a watch slowed by a busy database would otherwise overlap the next, and two
      // heartbeats of the same rows contend for their locks.
      if (this.watching) return;
      this.watching = this.watch().finally(() => (this.watching = null));
    }, WATCH_INTERVAL_MS);
    this.watchTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.watchTimer) clearInterval(this.watchTimer);
    // A watch in flight finishes before the pool it uses may close.
    await this.watching;
    await this.deps.spawner?.close();
  }

  async run(assignment: SessionAssignment): Promise<TaskOutcome> {
    const { task, goal } = assignment;
    const agent = this.deps.agentFor((task.agent ?? goal.agent) as AgentName);
    // The whole pinned run holds the goal's lane (in the database): merges of spawned work wait for it.
    const outcome = task.route === 'pinned' ? await runPinned(this, assignment, agent) : await runSpawned(this, assignment, agent);
    // Here, not where the agent exits: a merge that conflicts after a clean exit still blocks the task.
    const error = outcome.kind === 'failed' ? outcome.error : outcome.kind === 'blocked' ? outcome.reason : null;
    await this.persist(() => endTaskRun(this.deps.db, { taskId: task.id, attempt: assignment.attempt }, { outcome: outcome.kind, error }));
    return outcome;
  }

  runAgent(run: AgentRunRequest): Promise<AgentRunEnd> {
    return launchAgent(this.launchContext(), run);
  }

  private launchContext() {
    return {
      deps: this.deps,
      settings: this.settings,
      host: this.host,
      live: this.live,
      persist: <T>(work: () => Promise<T>) => this.persist(work),
      permanentIfExplained: (outcome: TaskOutcome, needs: GoalRequirements) => this.permanentIfExplained(outcome, needs),
    };
  }

  /** The goal's branch, created from base_ref on first use and recorded on the goal. */
  async goalBranch(goal: Goal, where: GoalRepo): Promise<{ branch: string; head: string }> {
    const ensured = await this.repos.ensureGoalBranch(where, goal);
    if (goal.branch !== ensured.branch) await this.persist(() => setGoalBranch(this.deps.db, goal.id, ensured.branch));
    return ensured;
  }

  /**
   * Commits what the agent left uncommitted, whatever the outcome: on a
   * spawned branch it is kept for a person to look at. If that cannot be done
   * (a rebase left half-way, a detached HEAD), a successful run is held as
   * blocked rather than passed on without its work.
   */
  async keepLeftovers(worktree: string, taskKey: string, outcome: TaskOutcome): Promise<TaskOutcome> {
    try {
      await this.deps.worktrees.commitLeftovers(worktree, `arbor: uncommitted work of task ${taskKey}`);
      return outcome;
    } catch (err) {
      this.deps.logger.warn({ err: describe(err), worktree }, 'leftover work not committed');
      if (outcome.kind !== 'succeeded') return outcome;
      return { kind: 'blocked', reason: `the agent's uncommitted work could not be committed: ${describe(err)}`, result: outcome.result };
    }
  }

  /**
   * A failure the preflight explains (the agent CLI is not installed, the
   * repository or base_ref is gone) cannot heal: it is marked permanent, so
   * no attempt is spent on meeting it again.
   */
  async permanentIfExplained(outcome: TaskOutcome, needs: GoalRequirements): Promise<TaskOutcome> {
    if (outcome.kind !== 'failed' || !this.deps.preflight) return outcome;
    const problem = await this.deps.preflight(needs).catch(() => null);
    return problem ? { ...outcome, error: `${outcome.error} (not retried: ${problem.message})`, permanent: true } : outcome;
  }

  /** Heartbeats live sessions (so no one takes them for orphans) and honours stop requests. */
  private async watch(): Promise<void> {
    const ids = [...this.live.keys()];
    try {
      await touchSessions(this.deps.db, ids);
      for (const id of await sessionsToStop(this.deps.db, ids)) this.live.get(id)?.stop();
      await releaseFinishedLanes(this.deps.db, this.settings.instanceId);
      for (const finished of await endFinishedPinnedSessions(this.deps.db, this.settings.instanceId)) {
        const local = this.repos.localPath(finished.repo);
        if (finished.worktreePath && local) await this.deps.worktrees.remove(local, finished.worktreePath).catch(() => {});
      }
      if (++this.watchCount % GOAL_WORKTREE_SWEEP_EVERY === 0) await this.removeGoalWorktreesOfEndedGoals();
    } catch (err) {
      this.deps.logger.warn({ err }, 'session watch failed');
    }
  }

  /**
   * A goal's worktree here outlives its sessions when the goal's pinned lane
   * moved to another instance, or its session was ended as an orphan: no
   * session of this instance ends with the goal to take it along. So the
   * disk is the list: every goal worktree here whose goal has ended goes.
   */
  private async removeGoalWorktreesOfEndedGoals(): Promise<void> {
    const live = new Set([...this.live.values()].map((run) => run.cwd));
    const onDisk = (await this.deps.worktrees.goalWorktreesOnDisk()).filter((w) => !live.has(w.path));
    if (onDisk.length === 0) return;
    const ended = await endedGoalsByIdPrefix(this.deps.db, [...new Set(onDisk.map((w) => w.goalPrefix))]);
    for (const goal of ended) {
      const local = this.repos.localPath(goal.repo);
      const worktree = onDisk.find((w) => goal.id.startsWith(w.goalPrefix));
      if (!worktree) continue;
      const { worktrees } = this.deps;
      // A repository deleted since (a scratch repo, a mirror removed by hand) cannot take its worktree
      // back, nor can one re-cloned in its place: the directory goes as it is, or it would be tried for ever.
      const gone = local === null || !(await worktrees.isWorktreeOf(local, worktree.path));
      await (gone ? worktrees.discard(worktree.path) : worktrees.remove(local, worktree.path)).catch((err) =>
        this.deps.logger.warn({ err: describe(err), goal: goal.id }, 'worktree of an ended goal not removed'),
      );
    }
  }

  /**
   * Agents that Arbor processes which went away left running on this host:
   * ended, so none keeps working unobserved (or reports on a task that has
   * moved on), their unfinished work committed to their branch for the next
   * attempt, and their spawned worktrees removed.
   */
  async recoverOrphans({ owners, startup }: { owners: string[]; startup: boolean }): Promise<void> {
    const orphans = await findOrphanedSessions(this.deps.db, {
      host: this.host,
      deadOwners: owners,
      // Owners that never registered as instances are known only by their silence.
      ...(startup ? { staleMs: ORPHAN_AFTER_MS } : {}),
    });
    for (const orphan of orphans) {
      if (this.live.has(orphan.id)) continue;
      await this.endStaleSession(orphan, 'orphaned: its Arbor process went away');
    }
  }

  /**
   * Ends a session nobody is running any more: its process group if it still
   * lives on this host, then its leftover work is kept on its branch and a
   * spawned session's worktree goes. (A pinned session's worktree is the
   * goal's, and the goal's next pinned task carries on in it.)
   */
  async endStaleSession(session: Session, reason: string): Promise<void> {
    if (session.host === this.host && session.pid && session.pidStartedAt) {
      const ended = await endOrphanGroup(session.pid, session.pidStartedAt, this.settings.killGraceMs);
      if (ended) this.deps.logger.warn({ session: session.id, pid: session.pid }, 'ended an orphaned agent process');
    }
    if (session.host === this.host && session.worktreePath) {
      const goalRepo = (await this.persist(() => getGoal(this.deps.db, session.goalId)))?.repo;
      const repo = goalRepo === undefined ? null : this.repos.localPath(goalRepo);
      await this.deps.worktrees
        .commitLeftovers(session.worktreePath, 'arbor: unfinished work of an interrupted run')
        .catch((err) => this.deps.logger.warn({ err: describe(err), session: session.id }, 'leftover work of an orphan not committed'));
      if (session.kind === 'spawned' && repo) {
        await this.deps.worktrees
          .remove(repo, session.worktreePath)
          .catch((err) => this.deps.logger.warn({ err: describe(err), session: session.id }, 'worktree of an orphan not removed'));
      }
    }
    await this.persist(() => recordSessionRunEnd(this.deps.db, session.id, { ...NO_RUN, status: 'ended', endReason: reason }));
    await this.persist(() => interruptSessionRuns(this.deps.db, session.id, reason));
  }

  /**
   * Session bookkeeping that must outlast a database outage: an agent that
   * finished while the database was away still gets its outcome recorded,
   * its session ended and its worktree cleaned, once the database is back.
   */
  persist<T>(work: () => Promise<T>): Promise<T> {
    return untilDatabaseAnswers(work, {
      onRetry: (err, attempt) => {
        if (attempt === 1 || attempt % 20 === 0) this.deps.logger.warn({ err: describe(err), attempt }, 'database unavailable; session bookkeeping waits for it');
      },
    });
  }

  private async pruneWorktrees(): Promise<void> {
    const inUse = await worktreesInUse(this.deps.db);
    const keep = new Set(inUse.paths);
    for (const goalRepo of inUse.repos) {
      const repo = this.repos.localPath(goalRepo);
      // A remote this instance has not mirrored yet has no worktrees here.
      if (repo === null || (repo !== goalRepo && !existsSync(repo))) continue;
      await this.deps.worktrees.prune(repo, keep).catch((err) => this.deps.logger.warn({ err, repo }, 'worktree prune failed'));
    }
  }
}
