import { z } from 'zod';

/**
 * A task's request that Arbor open (or update) a pull request once its run
 * succeeds: `"pull_request": {base, title, body?, draft?, repo?, head?}` on
 * the task. Kept in the task's metadata under `pull_request`. Pure.
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

/** owner/name of a GitHub repository named by a clone URL (https, ssh or scp-like), else null. */
export function githubRepoOf(location: string): string | null {
  const match = /^(?:https?:\/\/(?:[^@/]+@)?|ssh:\/\/git@|git@)[^/:]+[/:]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(location.trim());
  return match ? `${match[1]}/${match[2]}` : null;
}
