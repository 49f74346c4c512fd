import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { untilDatabaseAnswers } from '../db/availability.js';
import type { Db } from '../db/database.js';
import { buildPrompt, type PromptInput } from '../domain/prompt.js';
import type { AgentName } from '../domain/states.js';
import type { TaskOutcome, TaskResult } from '../domain/task-rules.js';
import type { Logger } from '../logger.js';
import type { GoalPreflight, GoalRequirements, SessionAssignment, SessionRunner } from '../orchestrator/session-runner.js';
import { getGoal, setGoalBranch } from '../store/goals.js';
import { readReportedPullRequest } from '../store/pull-requests.js';
import {
  createSession,
  endFinishedPinnedSessions,
  findLivePinnedSession,
  findOrphanedSessions,
  markSessionRunning,
  readAgentReport,
  recordSessionRunEnd,
  resumePinnedSession,
  sessionsToStop,
  touchSessions,
  worktreesInUse,
  type Session,
  type SessionRun,
  type SessionRunEnd,
} from '../store/sessions.js';
import { getTaskContext } from '../store/tasks.js';
import { childEnvironment, endOrphanGroup, startAgentProcess, type ProcessEnd } from './agent-process.js';
import type { AgentAdapter } from './agents/index.js';
import type { AgentUser } from './agent-user.js';
import { KeyedMutex } from './keyed-mutex.js';
import { PortBlocks } from './port-blocks.js';
import { SessionLog } from './session-log.js';
import { newTaskToken } from './task-token.js';
import { WorktreeError, type SpawnedWorktree, type WorktreeManager } from './worktrees.js';

export interface SessionSettings {
  instanceId: string;
  /** How agents reach the API; resolved when the first session starts (the port may be chosen at listen time). */
  apiUrl: () => string;
  baseEnv: Record<string, string>;
  taskTimeoutMs: number;
  stallTimeoutMs: number;
  killGraceMs: number;
  resultGraceMs: number;
  logMaxLines: number;
  keepFailedWorktrees: boolean;
  ports: { base: number; perSession: number } | null;
  /** The user agents run as; null or absent: Arbor's own. */
  agentUser?: AgentUser | null;
}

export interface SessionRunnerDeps {
  db: Db;
  logger: Logger;
  worktrees: WorktreeManager;
  agentFor(name: AgentName): AgentAdapter;
  /** What a goal needs of this machine; it also tells a failed start that cannot heal. */
  preflight?: GoalPreflight;
}

/** The end of a run that never got going. */
const NO_RUN = { exitCode: null, exitSignal: null, agentSessionId: null, costUsd: 0, inputTokens: 0, outputTokens: 0 };

/** How often live sessions are heartbeated and checked for stop requests. */
const WATCH_INTERVAL_MS = 1000;
/** A session whose owner has not heartbeated it for this long is an orphan. */
const ORPHAN_AFTER_MS = 30_000;

interface LiveRun {
  sessionId: string;
  stop(): void;
}

/**
 * Runs agent tasks as real CLI processes in git worktrees: a spawned session
 * in its own worktree and branch, merged back into the goal branch when it
 * succeeds; the goal's pinned session in the goal's worktree, resuming one
 * conversation task after task. Records sessions, logs, cost and tokens, and
 * turns how the process ended into the task's outcome.
 */
export class AgentSessionRunner implements SessionRunner {
  private readonly lanes = new KeyedMutex();
  private readonly ports: PortBlocks;
  private readonly live = new Map<string, LiveRun>();
  private readonly host = os.hostname();
  private watchTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: SessionRunnerDeps,
    private readonly settings: SessionSettings,
  ) {
    this.ports = new PortBlocks(settings.ports);
  }

  get preflight(): GoalPreflight | undefined {
    return this.deps.preflight;
  }

  async start(): Promise<void> {
    await this.pruneWorktrees();
    this.watchTimer = setInterval(() => void this.watch(), WATCH_INTERVAL_MS);
    this.watchTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.watchTimer) clearInterval(this.watchTimer);
  }

  async run(assignment: SessionAssignment): Promise<TaskOutcome> {
    const { task, goal } = assignment;
    const agent = this.deps.agentFor((task.agent ?? goal.agent) as AgentName);
    if (task.route === 'pinned') {
      // The whole pinned run holds the goal's lane: merges of spawned work wait for it.
      return this.lanes.with(goal.id, () => this.runPinned(assignment, agent));
    }
    return this.runSpawned(assignment, agent);
  }

  /** The goal's branch, created from base_ref on first use and recorded on the goal. */
  private async goalBranch(goal: SessionAssignment['goal']): Promise<{ branch: string; head: string }> {
    const ensured = await this.deps.worktrees.ensureGoalBranch(goal.repo, goal);
    if (goal.branch !== ensured.branch) await this.persist(() => setGoalBranch(this.deps.db, goal.id, ensured.branch));
    return ensured;
  }

  private async runPinned(assignment: SessionAssignment, agent: AgentAdapter): Promise<TaskOutcome> {
    const { task } = assignment;
    let goalBranch: string;
    let startHead: string;
    let worktree: string;
    try {
      ({ branch: goalBranch, head: startHead } = await this.goalBranch(assignment.goal));
      worktree = await this.deps.worktrees.goalWorktree(assignment.goal.repo, assignment.goal.id, goalBranch);
    } catch (err) {
      return this.permanentIfExplained({ kind: 'failed', error: describe(err) }, repoNeeds(assignment.goal));
    }
    const goal = { ...assignment.goal, branch: goalBranch };
    const { token, hash } = newTaskToken();
    const run = { taskId: task.id, attempt: assignment.attempt, owner: this.settings.instanceId, host: this.host, tokenHash: hash };
    const session = await this.pinnedSession(goal, agent, worktree, goalBranch, run);
    const conversationId = agent.resumable ? session.agentSessionId : null;
    let sessionEnd: Omit<SessionRunEnd, 'status'> = { ...NO_RUN, endReason: 'runner error' };
    try {
      const ended = await this.runAgent({ ...assignment, goal }, agent, session, worktree, token, conversationId);
      sessionEnd = ended.sessionEnd;
      const kept = await this.keepLeftovers(worktree, task.key, ended.outcome);
      if (kept.kind !== 'succeeded') return kept;
      const described = await this.deps.worktrees.describeBranch(goal.repo, goalBranch, startHead);
      return {
        kind: 'succeeded',
        result: { ...ended.result, branch: goalBranch, head: described.head, base: startHead, commits: described.commits, diffstat: described.diffstat },
      };
    } catch (err) {
      return { kind: 'failed', error: describe(err) };
    } finally {
      // Idle, not ended: the goal's next pinned task resumes this conversation. The run's token dies here.
      await this.persist(() => recordSessionRunEnd(this.deps.db, session.id, { ...sessionEnd, status: 'idle' }));
    }
  }

  /**
   * The goal's pinned session for this run: the idle one resumed, or a new
   * one. A pinned session still marked running belongs to a run that is gone
   * (the claim lets only one pinned task of a goal run at a time): it is ended,
   * its process too if it lives on this host, and its conversation carries on
   * in the new session.
   */
  private async pinnedSession(
    goal: SessionAssignment['goal'],
    agent: AgentAdapter,
    worktree: string,
    branch: string,
    run: SessionRun,
  ): Promise<Session> {
    const existing = await this.persist(() => findLivePinnedSession(this.deps.db, goal.id));
    if (existing?.status === 'idle' && existing.agent === agent.name) return this.persist(() => resumePinnedSession(this.deps.db, existing.id, run));
    // A conversation belongs to one agent: another agent starts its own.
    const carried = existing?.agent === agent.name ? existing.agentSessionId : null;
    if (existing) {
      await this.endStaleSession(existing, existing.status === 'idle' ? `the lane moved to the ${agent.name} agent` : 'superseded: its run ended without it');
    }
    const session = await this.persist(() => createSession(this.deps.db, {
      id: randomUUID(),
      goalId: goal.id,
      kind: 'pinned',
      agent: agent.name,
      worktreePath: worktree,
      branch,
      baseSha: null,
      ...run,
    }));
    return carried ? { ...session, agentSessionId: carried } : session;
  }

  private async runSpawned(assignment: SessionAssignment, agent: AgentAdapter): Promise<TaskOutcome> {
    const { task } = assignment;
    const sessionId = randomUUID();
    let goalBranch: string;
    let place: SpawnedWorktree;
    try {
      goalBranch = (await this.goalBranch(assignment.goal)).branch;
      place = await this.deps.worktrees.spawnWorktree(assignment.goal.repo, { id: assignment.goal.id, branch: goalBranch }, task.key, sessionId);
    } catch (err) {
      return this.permanentIfExplained({ kind: 'failed', error: describe(err) }, repoNeeds(assignment.goal));
    }
    const goal = { ...assignment.goal, branch: goalBranch };
    const { token, hash } = newTaskToken();
    const session = await this.persist(() => createSession(this.deps.db, {
      id: sessionId,
      goalId: goal.id,
      kind: 'spawned',
      agent: agent.name,
      worktreePath: place.path,
      branch: place.branch,
      baseSha: place.baseSha,
      taskId: task.id,
      attempt: assignment.attempt,
      owner: this.settings.instanceId,
      host: this.host,
      tokenHash: hash,
    }));
    let outcome: TaskOutcome = { kind: 'failed', error: 'the session ended before its outcome was known' };
    let sessionEnd: Omit<SessionRunEnd, 'status'> = { ...NO_RUN, endReason: 'runner error' };
    try {
      const continuing = place.continued ? { conflicts: place.conflicts } : undefined;
      const ended = await this.runAgent({ ...assignment, goal }, agent, session, place.path, token, null, continuing);
      sessionEnd = ended.sessionEnd;
      outcome = await this.keepLeftovers(place.path, task.key, ended.outcome);
      if (outcome.kind === 'succeeded') outcome = await this.mergeBack(goal, place, task.key, ended.result);
    } catch (err) {
      outcome = { kind: 'failed', error: describe(err) };
    } finally {
      // Whatever happened above, the session ends (and its token with it) and its worktree goes.
      await this.persist(() => recordSessionRunEnd(this.deps.db, session.id, { ...sessionEnd, status: 'ended' }));
      const keep = this.settings.keepFailedWorktrees && outcome.kind !== 'succeeded';
      if (!keep) await this.deps.worktrees.remove(goal.repo, place.path).catch((err) => this.deps.logger.warn({ err }, 'worktree not removed'));
    }
    const merged = outcome.kind === 'succeeded' ? outcome.result?.head : undefined;
    if (typeof merged === 'string') {
      // Its work is in the goal branch now; a branch with anything unmerged is never deleted.
      await this.deps.worktrees
        .deleteMergedBranch(goal.repo, place.branch, merged, goal.branch)
        .catch((err) => this.deps.logger.warn({ err: describe(err), branch: place.branch }, 'merged task branch not deleted'));
    }
    return outcome;
  }

  /**
   * Merges a spawned task's branch into the goal branch, waiting for the
   * goal's lane. A conflict, or git refusing the merge, holds the task as
   * blocked with its branch intact for a person to resolve and retry.
   */
  private async mergeBack(
    goal: SessionAssignment['goal'] & { branch: string },
    place: { path: string; branch: string; baseSha: string },
    taskKey: string,
    runResult: TaskResult,
  ): Promise<TaskOutcome> {
    const described = await this.deps.worktrees.describeBranch(goal.repo, place.branch, place.baseSha);
    const result: TaskResult = { ...runResult, branch: place.branch, head: described.head, base: place.baseSha, commits: described.commits, diffstat: described.diffstat };
    try {
      const merge = await this.lanes.with(goal.id, () =>
        this.deps.worktrees.mergeIntoGoal(goal.repo, { id: goal.id, branch: goal.branch }, place.branch, `arbor: merge task ${taskKey}`),
      );
      return merge.merged
        ? { kind: 'succeeded', result: { ...result, merge: merge.sha } }
        : { kind: 'blocked', reason: `merging ${place.branch} into ${goal.branch} conflicts in: ${merge.conflicts.join(', ')}`, result };
    } catch (err) {
      return { kind: 'blocked', reason: `merging ${place.branch} into ${goal.branch} failed: ${describe(err)}`, result };
    }
  }

  /**
   * Commits what the agent left uncommitted, whatever the outcome: on a
   * spawned branch it is kept for a person to look at. If that cannot be done
   * (a rebase left half-way, a detached HEAD), a successful run is held as
   * blocked rather than passed on without its work.
   */
  private async keepLeftovers(worktree: string, taskKey: string, outcome: TaskOutcome): Promise<TaskOutcome> {
    try {
      await this.deps.worktrees.commitLeftovers(worktree, `arbor: uncommitted work of task ${taskKey}`);
      return outcome;
    } catch (err) {
      this.deps.logger.warn({ err: describe(err), worktree }, 'leftover work not committed');
      if (outcome.kind !== 'succeeded') return outcome;
      return { kind: 'blocked', reason: `the agent's uncommitted work could not be committed: ${describe(err)}`, result: outcome.result };
    }
  }

  /** Starts the agent in `cwd`, streams its output to the session log, and waits for it to end. */
  private async runAgent(
    assignment: SessionAssignment,
    agent: AgentAdapter,
    session: Session,
    cwd: string,
    token: string,
    conversationId: string | null,
    continuing?: PromptInput['continuing'],
  ) {
    const { task, goal, signal } = assignment;
    const context = await this.persist(() => getTaskContext(this.deps.db, task));
    const prompt = buildPrompt({
      goal: { title: goal.title, description: goal.description, branch: goal.branch },
      task: { key: task.key, title: task.title, instructions: task.instructions, acceptance: task.acceptance },
      parent: context.parent,
      dependencies: context.dependencies,
      previousFailure: task.error,
      route: task.route,
      ...(continuing ? { continuing } : {}),
    });
    const log = new SessionLog(this.deps.db, session.id, { maxLines: this.settings.logMaxLines, logger: this.deps.logger });
    const parser = agent.parser();
    const ports = this.ports.take();
    const env = childEnvironment(this.settings.baseEnv, {
      ARBOR_API_URL: this.settings.apiUrl(),
      ARBOR_GOAL_ID: goal.id,
      ARBOR_TASK_ID: task.id,
      ARBOR_SESSION_ID: session.id,
      ARBOR_TASK_TOKEN: token,
      ...(ports ? { ARBOR_PORT_BASE: String(ports.base), ARBOR_PORT_COUNT: String(ports.count) } : {}),
    });

    let end: ProcessEnd;
    let stoppedOnRequest = false;
    try {
      const launch = agent.launch({ prompt, conversationId, newConversationId: randomUUID() });
      const timeoutMs = task.timeoutS ? task.timeoutS * 1000 : this.settings.taskTimeoutMs;
      const proc = startAgentProcess({
        file: launch.file,
        args: launch.args,
        cwd,
        env,
        user: this.settings.agentUser ?? null,
        stdin: launch.stdin,
        timeoutMs,
        stallMs: this.settings.stallTimeoutMs,
        killGraceMs: this.settings.killGraceMs,
        flow: log,
        onLine: (stream, text) => {
          const line = parser.line(stream, text);
          log.push(line.stream, line.text);
          // Only a structured event can say the agent is done; skip building a report for every plain line.
          if (line.stream === 'event' && parser.report().finished) proc.finishSoon(this.settings.resultGraceMs);
        },
      });
      const onAbort = () => proc.stop('stopped');
      signal.addEventListener('abort', onAbort);
      // Cancelled between the claim and the spawn: the listener above came too late.
      if (signal.aborted) onAbort();
      this.live.set(session.id, {
        sessionId: session.id,
        stop: () => {
          stoppedOnRequest = true;
          proc.stop('stopped');
        },
      });
      void proc.started
        // Without its pid on record, the agent could not be found and ended should this process die.
        .then((started) => (started ? this.persist(() => markSessionRunning(this.deps.db, session.id, started)) : undefined))
        .catch((err) => this.deps.logger.warn({ err, session: session.id }, 'session pid not recorded'));
      end = await proc.done;
      signal.removeEventListener('abort', onAbort);
    } catch (err) {
      end = { reason: 'failed_to_start', exitCode: null, signal: null, error: describe(err) };
    } finally {
      this.live.delete(session.id);
      ports?.release();
    }
    await log.flush();

    const report = parser.report();
    const reported = await this.persist(() => readAgentReport(this.deps.db, session.id));
    const pullRequest = await this.persist(() => readReportedPullRequest(this.deps.db, session.id));
    const result: TaskResult = {
      summary: reported?.kind === 'complete' && reported.summary ? reported.summary : (report.summary ?? undefined),
      ...(reported?.kind === 'complete' && reported.artifacts !== undefined ? { artifacts: reported.artifacts } : {}),
      ...(pullRequest ? { pull_request: pullRequest } : {}),
      session_id: session.id,
      cost_usd: report.costUsd ?? 0,
      input_tokens: report.inputTokens ?? 0,
      output_tokens: report.outputTokens ?? 0,
    };
    let outcome = decideOutcome(end, report, reported, stoppedOnRequest, timeoutLabel(task.timeoutS, this.settings), result);
    if (end.reason === 'failed_to_start') outcome = await this.permanentIfExplained(outcome, { repo: goal.repo, baseRef: null, agent: agent.name });
    return {
      outcome,
      result,
      sessionEnd: {
        endReason: describeEnd(end),
        exitCode: end.exitCode,
        exitSignal: end.signal,
        agentSessionId: report.conversationId,
        costUsd: report.costUsd ?? 0,
        inputTokens: report.inputTokens ?? 0,
        outputTokens: report.outputTokens ?? 0,
      },
    };
  }

  /**
   * A failure the preflight explains (the agent CLI is not installed, the
   * repository or base_ref is gone) cannot heal: it is marked permanent, so
   * no attempt is spent on meeting it again.
   */
  private async permanentIfExplained(outcome: TaskOutcome, needs: GoalRequirements): Promise<TaskOutcome> {
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
      for (const finished of await endFinishedPinnedSessions(this.deps.db)) {
        if (finished.worktreePath) await this.deps.worktrees.remove(finished.repo, finished.worktreePath).catch(() => {});
      }
    } catch (err) {
      this.deps.logger.warn({ err }, 'session watch failed');
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
  private async endStaleSession(session: Session, reason: string): Promise<void> {
    if (session.host === this.host && session.pid && session.pidStartedAt) {
      const ended = await endOrphanGroup(session.pid, session.pidStartedAt, this.settings.killGraceMs);
      if (ended) this.deps.logger.warn({ session: session.id, pid: session.pid }, 'ended an orphaned agent process');
    }
    if (session.host === this.host && session.worktreePath) {
      const repo = (await this.persist(() => getGoal(this.deps.db, session.goalId)))?.repo;
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
  }

  /**
   * Session bookkeeping that must outlast a database outage: an agent that
   * finished while the database was away still gets its outcome recorded,
   * its session ended and its worktree cleaned, once the database is back.
   */
  private persist<T>(work: () => Promise<T>): Promise<T> {
    return untilDatabaseAnswers(work, {
      onRetry: (err, attempt) => {
        if (attempt === 1 || attempt % 20 === 0) this.deps.logger.warn({ err: describe(err), attempt }, 'database unavailable; session bookkeeping waits for it');
      },
    });
  }

  private async pruneWorktrees(): Promise<void> {
    const inUse = await worktreesInUse(this.deps.db);
    const keep = new Set(inUse.paths);
    for (const repo of inUse.repos) {
      await this.deps.worktrees.prune(repo, keep).catch((err) => this.deps.logger.warn({ err, repo }, 'worktree prune failed'));
    }
  }
}

/**
 * How the run's end becomes the task's outcome. The agent's own report (its
 * callback, or a claude `result`) is believed first; the exit code is the
 * fallback.
 */
function decideOutcome(
  end: ProcessEnd,
  report: ReturnType<ReturnType<AgentAdapter['parser']>['report']>,
  reported: Awaited<ReturnType<typeof readAgentReport>>,
  stoppedOnRequest: boolean,
  timeout: string,
  result: TaskResult,
): TaskOutcome {
  switch (end.reason) {
    case 'failed_to_start':
      return { kind: 'failed', error: end.error ?? 'the agent did not start', result };
    case 'timed_out':
      return { kind: 'failed', error: `timed out after ${timeout}`, result };
    case 'stalled':
      return { kind: 'failed', error: 'stalled: no output for too long', result };
    case 'stopped':
      return stoppedOnRequest
        ? { kind: 'blocked', reason: 'the session was stopped on request', result }
        : { kind: 'failed', error: 'the session was stopped', result };
    case 'killed':
      return { kind: 'failed', error: `the agent was killed by ${end.signal} (out of memory?)`, result };
    case 'exited':
      break;
  }
  if (reported?.kind === 'block') return { kind: 'blocked', reason: reported.reason, result };
  if (reported?.kind === 'complete') return { kind: 'succeeded', result };
  if (report.finished && report.success === true) return { kind: 'succeeded', result };
  if (end.exitCode === 0 && report.success !== false) return { kind: 'succeeded', result };
  const why = end.exitCode !== null ? `the agent exited with code ${end.exitCode}` : `the agent ended by ${end.signal}`;
  return { kind: 'failed', error: report.error ? `${why}: ${report.error}` : why, result };
}

function describeEnd(end: ProcessEnd): string {
  switch (end.reason) {
    case 'exited':
      return end.exitCode === 0 ? 'exited 0' : end.exitCode !== null ? `exited ${end.exitCode}` : `ended by ${end.signal}`;
    case 'killed':
      return `killed by ${end.signal}`;
    case 'failed_to_start':
      return `failed to start: ${end.error}`;
    default:
      return end.reason.replace('_', ' ');
  }
}

function timeoutLabel(taskTimeoutS: number | null, settings: SessionSettings): string {
  const seconds = taskTimeoutS ?? Math.round(settings.taskTimeoutMs / 1000);
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** What setting up a goal's branch needs: its repository, and base_ref until the branch exists. */
function repoNeeds(goal: SessionAssignment['goal']): GoalRequirements {
  return { repo: goal.repo, baseRef: goal.branch ? null : goal.baseRef, agent: null };
}

function describe(err: unknown): string {
  if (err instanceof WorktreeError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
