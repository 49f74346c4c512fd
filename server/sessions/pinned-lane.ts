/**
 * A goal's pinned lane: its pinned tasks run one after another in the goal's
 * own worktree, on the goal branch, resuming one agent conversation. The lane
 * is held in the database (goal-lanes) by the instance that runs it: taken
 * when its first pinned task starts, kept between tasks (the conversation
 * lives on that machine, and only the holder claims the goal's pinned tasks)
 * under a lease the instance's heartbeat renews, given up when the goal ends,
 * and taken over by another instance once a dead holder's lease has run out.
 * While a pinned task runs, merges into the goal branch from any instance wait.
 */
import { randomUUID } from 'node:crypto';
import type { TaskOutcome } from '../domain/task-rules.js';
import type { SessionAssignment } from '../orchestrator/session-runner.js';
import { acquireLane, beginPinnedRun, endPinnedRun } from '../store/goal-lanes.js';
import {
  conversationTotalsOf,
  createSession,
  findLivePinnedSession,
  recordSessionRunEnd,
  resumePinnedSession,
  type Session,
  type SessionRun,
  type SessionRunEnd,
} from '../store/sessions.js';
import type { AgentAdapter } from './agents/index.js';
import type { GoalRepo } from './goal-repo.js';
import { NO_RUN, describe, repoNeeds, type Goal, type RunnerContext } from './runner-context.js';
import { newTaskToken } from './task-token.js';

/** How long a lane lease lasts when the settings name none; the heartbeat renews it. */
const DEFAULT_LANE_LEASE_MS = 30_000;
/** How often to look again while another live instance holds the lane. */
const LANE_POLL_MS = 250;

export async function runPinned(ctx: RunnerContext, assignment: SessionAssignment, agent: AgentAdapter): Promise<TaskOutcome> {
  const { task, goal } = assignment;
  const holder = ctx.settings.instanceId;
  let takenOverFrom: string | null;
  try {
    takenOverFrom = await holdLane(ctx, goal.id, task.id, assignment.signal);
  } catch (err) {
    return { kind: 'failed', error: `the goal's pinned lane was not free: ${describe(err)}` };
  }
  try {
    return await runInLane(ctx, assignment, agent, takenOverFrom);
  } finally {
    // Merges may go ahead; the lane itself stays here for the goal's next pinned task.
    await ctx.persist(() => endPinnedRun(ctx.deps.db, goal.id, holder, task.id));
  }
}

/**
 * Takes the goal's lane and marks this task as running in it (after any
 * merge in progress anywhere has finished). Waits while another live
 * instance holds it; returns the instance whose expired lease was taken
 * over, if any.
 */
async function holdLane(ctx: RunnerContext, goalId: string, taskId: string, signal: AbortSignal): Promise<string | null> {
  const leaseMs = ctx.settings.laneLeaseMs ?? DEFAULT_LANE_LEASE_MS;
  // Claims leave a held lane's tasks to its holder; one claimed in the moment before it was taken
  // waits out a lease at most (the holder may be dying), then goes back to be claimed again.
  const giveUpAt = Date.now() + 2 * leaseMs;
  for (;;) {
    signal.throwIfAborted();
    const lane = await ctx.persist(() => acquireLane(ctx.deps.db, goalId, ctx.settings.instanceId, leaseMs));
    if (lane.acquired && (await ctx.persist(() => beginPinnedRun(ctx.deps.db, goalId, ctx.settings.instanceId, taskId)))) {
      return lane.takenOverFrom;
    }
    if (!lane.acquired && Date.now() >= giveUpAt) throw new Error(`instance ${lane.holder} holds it`);
    await new Promise((resolve) => setTimeout(resolve, LANE_POLL_MS));
  }
}

async function runInLane(ctx: RunnerContext, assignment: SessionAssignment, agent: AgentAdapter, takenOverFrom: string | null): Promise<TaskOutcome> {
  const { task } = assignment;
  let where: GoalRepo;
  let goalBranch: string;
  let startHead: string;
  let worktree: string;
  /** The remote's tip of the goal branch this run's push expects to replace. */
  let remoteTip: string | null = null;
  try {
    where = await ctx.repos.open(assignment.goal.repo, assignment.goal.branch);
    ({ branch: goalBranch, head: startHead } = await ctx.goalBranch(assignment.goal, where));
    worktree = await ctx.deps.worktrees.goalWorktree(where.local, assignment.goal.id, goalBranch);
    if (where.remote) remoteTip = await where.remote.trackedTip(goalBranch);
  } catch (err) {
    return ctx.permanentIfExplained({ kind: 'failed', error: describe(err) }, repoNeeds(assignment.goal));
  }
  try {
    // Merges made since the last run moved the branch under the checkout: never run on stale files.
    await ctx.deps.worktrees.advanceGoalWorktree(worktree);
  } catch (err) {
    return { kind: 'blocked', reason: describe(err) };
  }
  const goal = { ...assignment.goal, branch: goalBranch };
  const { token, hash } = newTaskToken();
  const run = { taskId: task.id, attempt: assignment.attempt, owner: ctx.settings.instanceId, host: ctx.host, tokenHash: hash };
  const { session, notes } = await pinnedSession(ctx, goal, agent, worktree, goalBranch, run, takenOverFrom);
  const conversationId = agent.resumable ? session.agentSessionId : null;
  let sessionEnd: Omit<SessionRunEnd, 'status'> = { ...NO_RUN, endReason: 'runner error' };
  try {
    const ended = await ctx.runAgent({ assignment: { ...assignment, goal }, agent, session, cwd: worktree, token, conversationId, notes });
    sessionEnd = ended.sessionEnd;
    const kept = await ctx.keepLeftovers(worktree, task.key, ended.outcome);
    await ctx.deps.worktrees.markGoalCheckout(worktree);
    // Whatever the outcome, the run's commits are on the goal branch: the remote gets them too.
    const published = await publishGoalBranch(ctx, where, goalBranch, remoteTip);
    if (kept.kind !== 'succeeded') return kept;
    if (published !== null) return { kind: 'blocked', reason: published, result: kept.result };
    const described = await ctx.deps.worktrees.describeBranch(where.local, goalBranch, startHead);
    return {
      kind: 'succeeded',
      result: { ...kept.result, branch: goalBranch, head: described.head, base: startHead, commits: described.commits, diffstat: described.diffstat },
    };
  } catch (err) {
    return { kind: 'failed', error: describe(err) };
  } finally {
    // Idle, not ended: the goal's next pinned task resumes this conversation. The run's token dies here.
    await ctx.persist(() => recordSessionRunEnd(ctx.deps.db, session.id, { ...sessionEnd, status: 'idle' }));
  }
}

/**
 * Pushes the goal branch as the pinned run left it to the remote, if its
 * tip there is still the one the run started from (merges wait while a
 * pinned run holds the lane, so it is). Null when pushed (or nothing to
 * push); otherwise why not.
 */
async function publishGoalBranch(ctx: RunnerContext, where: GoalRepo, branch: string, expected: string | null): Promise<string | null> {
  if (!where.remote) return null;
  try {
    const head = await ctx.deps.worktrees.branchHead(where.local, branch);
    if (head === expected) return null;
    const pushed = await where.remote.pushWithLease(head, branch, expected);
    return pushed === 'pushed' ? null : `pushing ${branch} to the remote lost a race: its tip moved while the pinned task ran`;
  } catch (err) {
    return `pushing ${branch} to the remote failed: ${describe(err)}`;
  }
}

/**
 * The goal's pinned session for this run: the idle one resumed, or a new
 * one. A pinned session still marked running belongs to a run that is gone
 * (the claim lets only one pinned task of a goal run at a time): it is ended,
 * its process too if it lives on this host, and its conversation (with the
 * running totals its agent last reported) carries on in the new session.
 * A conversation of another instance cannot be resumed here (its CLI state
 * and working directory are on that machine): a fresh one starts, told what
 * the earlier tasks reported by its prompt, and the log says so.
 */
async function pinnedSession(
  ctx: RunnerContext,
  goal: Goal,
  agent: AgentAdapter,
  worktree: string,
  branch: string,
  run: SessionRun,
  takenOverFrom: string | null,
): Promise<{ session: Session; notes: string[] }> {
  const existing = await ctx.persist(() => findLivePinnedSession(ctx.deps.db, goal.id));
  const elsewhere = existing !== undefined && existing !== null && existing.owner !== run.owner;
  const notes: string[] = [];
  if (elsewhere) {
    const from = takenOverFrom ?? existing.owner;
    notes.push(
      `arbor: the goal's pinned lane moved here from instance ${from}${takenOverFrom ? ' (its lease expired)' : ''}; ` +
        'its conversation stays there, so this run starts a fresh conversation, told what earlier tasks reported',
    );
  }
  if (existing?.status === 'idle' && existing.agent === agent.name && !elsewhere) {
    return { session: await ctx.persist(() => resumePinnedSession(ctx.deps.db, existing.id, run)), notes };
  }
  // A conversation belongs to one agent (and one machine): another agent starts its own.
  const carried =
    !elsewhere && existing?.agent === agent.name && existing.agentSessionId ? { agentSessionId: existing.agentSessionId, totals: conversationTotalsOf(existing) } : undefined;
  if (existing) {
    const reason = elsewhere ? 'the lane moved to another instance' : existing.status === 'idle' ? `the lane moved to the ${agent.name} agent` : 'superseded: its run ended without it';
    await ctx.endStaleSession(existing, reason);
  }
  const session = await ctx.persist(() =>
    createSession(ctx.deps.db, {
      id: randomUUID(),
      goalId: goal.id,
      kind: 'pinned',
      agent: agent.name,
      worktreePath: worktree,
      branch,
      baseSha: null,
      ...(carried ? { conversation: carried } : {}),
      ...run,
    }),
  );
  return { session, notes };
}
