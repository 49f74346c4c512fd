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
import type { GoalRepo } from './goal-repo.js';
import { NO_RUN, describe, repoNeeds, type Goal, type RunnerContext } from './runner-context.js';
import { newTaskToken } from './task-token.js';
import type { SpawnedWorktree } from './worktrees.js';

export async function runSpawned(ctx: RunnerContext, assignment: SessionAssignment, agent: AgentAdapter): Promise<TaskOutcome> {
  const { task } = assignment;
  const { db, logger, worktrees } = ctx.deps;
  const sessionId = randomUUID();
  let where: GoalRepo;
  let goalBranch: string;
  let place: SpawnedWorktree;
  try {
    where = await ctx.repos.open(assignment.goal.repo, assignment.goal.branch);
    goalBranch = (await ctx.goalBranch(assignment.goal, where)).branch;
    // On a remote, the task branch as an earlier attempt (on any instance) pushed it.
    place = await worktrees.spawnWorktree(where.local, { id: assignment.goal.id, branch: goalBranch }, task.key, sessionId, {
      followRemote: where.remote !== null,
    });
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
    if (outcome.kind === 'succeeded') outcome = await mergeBack(ctx, goal, where, place, task.key, outcome.result ?? ended.result);
  } catch (err) {
    outcome = { kind: 'failed', error: describe(err) };
  } finally {
    // Whatever happened above, the session ends (and its token with it) and its worktree goes.
    await ctx.persist(() => recordSessionRunEnd(db, session.id, { ...sessionEnd, status: 'ended' }));
    const keep = ctx.settings.keepFailedWorktrees && outcome.kind !== 'succeeded';
    if (!keep) await worktrees.remove(where.local, place.path).catch((err) => logger.warn({ err }, 'worktree not removed'));
  }
  const merged = outcome.kind === 'succeeded' ? outcome.result?.head : undefined;
  if (typeof merged === 'string') {
    // Its work is in the goal branch now; a branch with anything unmerged is never deleted.
    await worktrees
      .deleteMergedBranch(where.local, place.branch, merged, goal.branch)
      .catch((err) => logger.warn({ err: describe(err), branch: place.branch }, 'merged task branch not deleted'));
  }
  return outcome;
}

/**
 * Merges a spawned task's branch into the goal branch without a worktree,
 * as the only merge of the goal on any instance, once no pinned run holds
 * the goal's lane. On a remote, the task branch is pushed first and the
 * merge is published by a push with a lease (merged again on a lost race).
 * A conflict, or git or the remote refusing, holds the task as blocked with
 * its branch intact for a person to resolve and retry; nothing half-merged
 * is left.
 */
async function mergeBack(
  ctx: RunnerContext,
  goal: Goal & { branch: string },
  where: GoalRepo,
  place: { path: string; branch: string; baseSha: string; remoteTip: string | null },
  taskKey: string,
  runResult: TaskResult,
): Promise<TaskOutcome> {
  const { db, worktrees } = ctx.deps;
  const described = await worktrees.describeBranch(where.local, place.branch, place.baseSha);
  // goal_branch: where the work lands once merged (a pull request for the whole goal is opened from it).
  const result: TaskResult = {
    ...runResult,
    branch: place.branch,
    goal_branch: goal.branch,
    head: described.head,
    base: place.baseSha,
    commits: described.commits,
    diffstat: described.diffstat,
  };
  const into = `merging ${place.branch} into ${goal.branch}`;
  try {
    const remote = where.remote;
    if (remote) {
      // The task's commits reach the remote before any merge that holds them, over the tip the run started from only.
      const pushed = await remote.pushWithLease(described.head, place.branch, place.remoteTip);
      if (pushed === 'lost') return { kind: 'blocked', reason: `${into}: pushing ${place.branch} lost a race: another run pushed it meanwhile`, result };
    }
    const message = `arbor: merge task ${taskKey}`;
    const merge = await withMergeSlot(db, goal.id, () =>
      worktrees.mergeTaskBranch(where.local, goal.branch, place.branch, message, remote ? { tip: remote.branchTip(goal.branch) } : {}),
    );
    switch (merge.kind) {
      case 'merged':
        if (remote) await followMerge(ctx, where, goal.branch, merge.sha, merge.previous);
        return { kind: 'succeeded', result: { ...result, merge: merge.sha } };
      case 'already-merged':
        return { kind: 'succeeded', result: { ...result, merge: merge.head } };
      case 'conflicts':
        return { kind: 'blocked', reason: `${into} conflicts in: ${merge.paths.join(', ')}`, result };
    }
  } catch (err) {
    return { kind: 'blocked', reason: `${into} failed: ${describe(err)}`, result };
  }
}

/** The mirror's own goal branch follows a merge published on the remote (the next run here starts from it). */
async function followMerge(ctx: RunnerContext, where: GoalRepo, branch: string, sha: string, previous: string): Promise<void> {
  await ctx.deps.worktrees
    .followBranch(where.local, branch, sha, previous)
    .catch((err) => ctx.deps.logger.warn({ err: describe(err), branch }, 'local goal branch not brought up to the merge'));
}
