/**
 * A goal's pinned lane: its pinned tasks run one after another in the goal's
 * own worktree, on the goal branch, resuming one agent conversation. The
 * caller holds the goal's lane for the whole run.
 */
import { randomUUID } from 'node:crypto';
import type { TaskOutcome } from '../domain/task-rules.js';
import type { SessionAssignment } from '../orchestrator/session-runner.js';
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
import { NO_RUN, describe, repoNeeds, type Goal, type RunnerContext } from './runner-context.js';
import { newTaskToken } from './task-token.js';

export async function runPinned(ctx: RunnerContext, assignment: SessionAssignment, agent: AgentAdapter): Promise<TaskOutcome> {
  const { task } = assignment;
  let goalBranch: string;
  let startHead: string;
  let worktree: string;
  try {
    ({ branch: goalBranch, head: startHead } = await ctx.goalBranch(assignment.goal));
    worktree = await ctx.deps.worktrees.goalWorktree(assignment.goal.repo, assignment.goal.id, goalBranch);
  } catch (err) {
    return ctx.permanentIfExplained({ kind: 'failed', error: describe(err) }, repoNeeds(assignment.goal));
  }
  const goal = { ...assignment.goal, branch: goalBranch };
  const { token, hash } = newTaskToken();
  const run = { taskId: task.id, attempt: assignment.attempt, owner: ctx.settings.instanceId, host: ctx.host, tokenHash: hash };
  const session = await pinnedSession(ctx, goal, agent, worktree, goalBranch, run);
  const conversationId = agent.resumable ? session.agentSessionId : null;
  let sessionEnd: Omit<SessionRunEnd, 'status'> = { ...NO_RUN, endReason: 'runner error' };
  try {
    const ended = await ctx.runAgent({ assignment: { ...assignment, goal }, agent, session, cwd: worktree, token, conversationId });
    sessionEnd = ended.sessionEnd;
    const kept = await ctx.keepLeftovers(worktree, task.key, ended.outcome);
    if (kept.kind !== 'succeeded') return kept;
    const described = await ctx.deps.worktrees.describeBranch(goal.repo, goalBranch, startHead);
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
 * The goal's pinned session for this run: the idle one resumed, or a new
 * one. A pinned session still marked running belongs to a run that is gone
 * (the claim lets only one pinned task of a goal run at a time): it is ended,
 * its process too if it lives on this host, and its conversation (with the
 * running totals its agent last reported) carries on in the new session.
 */
async function pinnedSession(
  ctx: RunnerContext,
  goal: Goal,
  agent: AgentAdapter,
  worktree: string,
  branch: string,
  run: SessionRun,
): Promise<Session> {
  const existing = await ctx.persist(() => findLivePinnedSession(ctx.deps.db, goal.id));
  if (existing?.status === 'idle' && existing.agent === agent.name) return ctx.persist(() => resumePinnedSession(ctx.deps.db, existing.id, run));
  // A conversation belongs to one agent: another agent starts its own.
  const carried = existing?.agent === agent.name && existing.agentSessionId ? { agentSessionId: existing.agentSessionId, totals: conversationTotalsOf(existing) } : undefined;
  if (existing) {
    await ctx.endStaleSession(existing, existing.status === 'idle' ? `the lane moved to the ${agent.name} agent` : 'superseded: its run ended without it');
  }
  return ctx.persist(() =>
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
}
