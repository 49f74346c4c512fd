/**
 * A spawned run: the task in a worktree and branch of its own, merged back
 * into the goal branch when it succeeds, its worktree removed after.
 */
import { randomUUID } from 'node:crypto';
import type { TaskOutcome, TaskResult } from '../domain/task-rules.js';
import type { SessionAssignment } from '../orchestrator/session-runner.js';
import { withMergeSlot } from '../store/goal-lanes.js';
import { createSession, recordSessionRunEnd, type SessionRunEnd } from '../store/sessions.js';
import type { AgentAdapter } from './agents/index.js';
import { NO_RUN, describe, repoNeeds, type Goal, type RunnerContext } from './runner-context.js';
import { newTaskToken } from './task-token.js';
import type { SpawnedWorktree } from './worktrees.js';

export async function runSpawned(ctx: RunnerContext, assignment: SessionAssignment, agent: AgentAdapter): Promise<TaskOutcome> {
  const { task } = assignment;
  const { db, logger, worktrees } = ctx.deps;
  const sessionId = randomUUID();
  let goalBranch: string;
  let place: SpawnedWorktree;
  try {
    goalBranch = (await ctx.goalBranch(assignment.goal)).branch;
    place = await worktrees.spawnWorktree(assignment.goal.repo, { id: assignment.goal.id, branch: goalBranch }, task.key, sessionId);
  } catch (err) {
    return ctx.permanentIfExplained({ kind: 'failed', error: describe(err) }, repoNeeds(assignment.goal));
  }
  const goal = { ...assignment.goal, branch: goalBranch };
  const { token, hash } = newTaskToken();
  const session = await ctx.persist(() =>
    createSession(db, {
      id: sessionId,
      goalId: goal.id,
      kind: 'spawned',
      agent: agent.name,
      worktreePath: place.path,
      branch: place.branch,
      baseSha: place.baseSha,
      taskId: task.id,
      attempt: assignment.attempt,
      owner: ctx.settings.instanceId,
      host: ctx.host,
      tokenHash: hash,
    }),
  );
  let outcome: TaskOutcome = { kind: 'failed', error: 'the session ended before its outcome was known' };
  let sessionEnd: Omit<SessionRunEnd, 'status'> = { ...NO_RUN, endReason: 'runner error' };
  try {
    const ended = await ctx.runAgent({
      assignment: { ...assignment, goal },
      agent,
      session,
      cwd: place.path,
      token,
      conversationId: null,
      ...(place.continued ? { continuing: { conflicts: place.conflicts } } : {}),
    });
    sessionEnd = ended.sessionEnd;
    outcome = await ctx.keepLeftovers(place.path, task.key, ended.outcome);
    if (outcome.kind === 'succeeded') outcome = await mergeBack(ctx, goal, place, task.key, outcome.result ?? ended.result);
  } catch (err) {
    outcome = { kind: 'failed', error: describe(err) };
  } finally {
    // Whatever happened above, the session ends (and its token with it) and its worktree goes.
    await ctx.persist(() => recordSessionRunEnd(db, session.id, { ...sessionEnd, status: 'ended' }));
    const keep = ctx.settings.keepFailedWorktrees && outcome.kind !== 'succeeded';
    if (!keep) await worktrees.remove(goal.repo, place.path).catch((err) => logger.warn({ err }, 'worktree not removed'));
  }
  const merged = outcome.kind === 'succeeded' ? outcome.result?.head : undefined;
  if (typeof merged === 'string') {
    // Its work is in the goal branch now; a branch with anything unmerged is never deleted.
    await worktrees
      .deleteMergedBranch(goal.repo, place.branch, merged, goal.branch)
      .catch((err) => logger.warn({ err: describe(err), branch: place.branch }, 'merged task branch not deleted'));
  }
  return outcome;
}

/**
 * Merges a spawned task's branch into the goal branch without a worktree,
 * as the only merge of the goal on any instance, once no pinned run holds
 * the goal's lane. A conflict, or git refusing the merge, holds the task as
 * blocked with its branch intact for a person to resolve and retry; nothing
 * half-merged is left.
 */
async function mergeBack(
  ctx: RunnerContext,
  goal: Goal & { branch: string },
  place: { path: string; branch: string; baseSha: string },
  taskKey: string,
  runResult: TaskResult,
): Promise<TaskOutcome> {
  const { db, worktrees } = ctx.deps;
  const described = await worktrees.describeBranch(goal.repo, place.branch, place.baseSha);
  const result: TaskResult = { ...runResult, branch: place.branch, head: described.head, base: place.baseSha, commits: described.commits, diffstat: described.diffstat };
  try {
    const merge = await withMergeSlot(db, goal.id, () => worktrees.mergeTaskBranch(goal.repo, goal.branch, place.branch, `arbor: merge task ${taskKey}`));
    switch (merge.kind) {
      case 'merged':
        return { kind: 'succeeded', result: { ...result, merge: merge.sha } };
      case 'already-merged':
        return { kind: 'succeeded', result: { ...result, merge: merge.head } };
      case 'conflicts':
        return { kind: 'blocked', reason: `merging ${place.branch} into ${goal.branch} conflicts in: ${merge.paths.join(', ')}`, result };
    }
  } catch (err) {
    return { kind: 'blocked', reason: `merging ${place.branch} into ${goal.branch} failed: ${describe(err)}`, result };
  }
}
