import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { githubRepoOf, pullRequestFor, pullRequestHead, type PullRequestRequest } from '../domain/pull-request-request.js';
import type { TaskOutcome } from '../domain/task-rules.js';
import { wrapRuns, type SessionAssignment, type SessionRunner } from '../orchestrator/session-runner.js';
import { failSucceededTaskRun } from '../store/task-runs.js';
import type { GithubClient } from './github-client.js';

/**
 * Wraps the session runner: when a task asks for a pull request (or its goal
 * does) and its run succeeded, Arbor opens one — for the run's branch, or for
 * the goal branch when the goal asked — or updates the one open for it, and
 * puts its URL and head sha in the task's result as `pull_request`, where
 * gates bound `{from}` the task find it.
 *
 * The head branch must be on the remote by then. For a goal whose `repo` is
 * a git URL the session runner has pushed it already (task branches before
 * their merge, the goal branch after a pinned run). A goal on a local path has
 * no remote of Arbor's: there the agent pushes its branch itself, or the head
 * names a branch already on GitHub.
 *
 * When that fails, the task fails although its run succeeded: the run's
 * record (task_runs, written by the session runner as the run ended) is
 * failed too, with the reason.
 */
export function withPullRequests(
  inner: SessionRunner,
  github: GithubClient | null,
  logger: Logger,
  db: Db,
): SessionRunner {
  return wrapRuns(inner, async (assignment) => {
    const outcome = await inner.run(assignment);
    const asked = pullRequestFor(assignment.task.metadata, assignment.goal.metadata);
    if (outcome.kind !== 'succeeded' || !asked || assignment.task.kind !== 'agent') return outcome;
    const opened = await openPullRequest(assignment, outcome, asked, github, logger);
    if (opened.kind === 'failed') {
      // Best effort: the task's own outcome is what counts, and a lost database fails that write anyway.
      await failSucceededTaskRun(db, { taskId: assignment.task.id, attempt: assignment.attempt }, opened.error).catch((err: unknown) =>
        logger.warn({ err, taskId: assignment.task.id }, 'could not mark the run failed after its pull request failed'),
      );
    }
    return opened;
  });
}

async function openPullRequest(
  assignment: SessionAssignment,
  outcome: Extract<TaskOutcome, { kind: 'succeeded' }>,
  { request, scope }: { request: PullRequestRequest; scope: 'task' | 'goal' },
  github: GithubClient | null,
  logger: Logger,
): Promise<TaskOutcome> {
  const result = outcome.result ?? {};
  const failed = (error: string, permanent = false): TaskOutcome => ({ kind: 'failed', error, result, permanent });
  if (!github) return failed('the task asks Arbor to open a pull request, but ARBOR_GITHUB_TOKEN is not set', true);
  const repo = request.repo ?? githubRepoOf(assignment.goal.repo);
  if (!repo) return failed(`the task asks for a pull request, but the goal's repo "${assignment.goal.repo}" is not a GitHub URL: name pull_request.repo`, true);
  const head = pullRequestHead(request, scope, result, assignment.goal.branch);
  if (!head) return failed('the task asks for a pull request, but its run left no branch: name pull_request.head', true);
  try {
    const opened = await github.openOrUpdatePullRequest({ repo, head, base: request.base, title: request.title, body: request.body, draft: request.draft });
    logger.info({ taskId: assignment.task.id, repo, pr: opened.number, created: opened.created }, 'pull request opened or updated');
    return {
      kind: 'succeeded',
      result: { ...result, pull_request: { url: opened.url, head_sha: opened.headSha, repo, number: opened.number } },
    };
  } catch (err) {
    const status = err && typeof err === 'object' && 'status' in err ? ` (${String(err.status)})` : '';
    // An attempt is spent: GitHub may answer next time, or a person fixes the branch.
    return failed(`opening the pull request for ${head} on ${repo} failed${status}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
