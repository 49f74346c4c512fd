import { z } from 'zod';

/**
 * A request that Arbor open (or update) a pull request once a run succeeds:
 * `"pull_request": {base, title, body?, draft?, repo?, head?}` on a task or on
 * the goal. Kept in the task's (or goal's) metadata under `pull_request`. Pure.
 */

export const PullRequestRequestSchema = z
  .object({
    base: z.string().min(1).max(255),
    title: z.string().min(1).max(256),
    body: z.string().max(65_536).optional(),
    draft: z.boolean().optional(),
    /** owner/name on GitHub; default: read from the goal's repo when it is a GitHub URL. */
    repo: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'repo must look like owner/name').optional(),
    /** The branch with the work; default: the branch the run left its work on. */
    head: z.string().min(1).max(255).optional(),
  })
  .strict();

export type PullRequestRequest = z.infer<typeof PullRequestRequestSchema>;

/** The request stored on a task, or null when it asks for none. A malformed one is an error (it was validated on the way in). */
export function pullRequestRequestOf(metadata: unknown): PullRequestRequest | null {
  if (typeof metadata !== 'object' || metadata === null || !('pull_request' in metadata)) return null;
  return PullRequestRequestSchema.parse((metadata as { pull_request: unknown }).pull_request);
}

/**
 * What a task's successful run asks of GitHub: its own request, or else the
 * goal's — `"pull_request"` on the goal opens (and keeps updating) one pull
 * request for the goal branch, which every agent task's work reaches. Pure.
 */
export function pullRequestFor(
  taskMetadata: unknown,
  goalMetadata: unknown,
): { request: PullRequestRequest; scope: 'task' | 'goal' } | null {
  const own = pullRequestRequestOf(taskMetadata);
  if (own) return { request: own, scope: 'task' };
  const goal = pullRequestRequestOf(goalMetadata);
  return goal ? { request: goal, scope: 'goal' } : null;
}

/** The branch a pull request is opened from: named in the request, else the task's own branch (task scope) or the goal branch (goal scope). */
export function pullRequestHead(
  request: PullRequestRequest,
  scope: 'task' | 'goal',
  result: { branch?: unknown; goal_branch?: unknown },
  goalBranch: string | null,
): string | null {
  if (request.head) return request.head;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  // A spawned run's own branch is merged into the goal branch; a pinned run's branch is the goal branch.
  if (scope === 'goal') return text(result.goal_branch) ?? goalBranch ?? text(result.branch);
  return text(result.branch) ?? goalBranch;
}

/** owner/name of a GitHub repository named by a clone URL (https, ssh or scp-like), else null. */
export function githubRepoOf(location: string): string | null {
  const match = /^(?:https?:\/\/(?:[^@/]+@)?|ssh:\/\/git@|git@)[^/:]+[/:]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(location.trim());
  return match ? `${match[1]}/${match[2]}` : null;
}
