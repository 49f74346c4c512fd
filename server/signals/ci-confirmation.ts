import { ciVerdict, type CommitStatus } from '../domain/ci-verdict.js';
import type { GithubClient } from '../github/github-client.js';
import type { GithubSignal } from './github.js';

/**
 * With a GitHub token, a CI webhook is a nudge, not a verdict: GitHub sends
 * one per app or workflow, so the first green one says nothing about the
 * rest. The checks API is asked for every check of the pull request's
 * current head, and only a settled answer becomes a signal — for that head,
 * whatever commit the webhook was about.
 */

export type Confirmation = { kind: 'signal'; signal: GithubSignal } | { kind: 'pending'; summary: string };

export interface ConfirmOptions {
  /**
   * The nudge carries a verdict of its own that GitHub may not list (a CI
   * bridge posting to the API): when it is about the current head (its sha,
   * or no sha), it counts as one more check of that head, named `vouchedAs`.
   */
  vouchedAs?: string;
}

export async function confirmCiSignal(client: GithubClient, nudge: GithubSignal, options: ConfirmOptions = {}): Promise<Confirmation> {
  const repo = String(nudge.attributes.repo);
  const pr = Number(nudge.attributes.pr);
  const head = await client.pullRequestHead(repo, pr);
  const { runs, statuses } = await client.checksOf(repo, head.headSha);
  const own = options.vouchedAs ? vouchedStatus(nudge, head.headSha, options.vouchedAs) : null;
  const verdict = ciVerdict(head.headSha, runs, own ? [...statuses, own] : statuses);
  if (verdict.state === 'pending') return { kind: 'pending', summary: verdict.summary };
  const failing = verdict.checks.filter((c) => c.state === 'fail').map(({ name, detail, title, url }) => ({ name, conclusion: detail, title, url }));
  return {
    kind: 'signal',
    signal: {
      type: 'gh_ci',
      attributes: { repo, pr, sha: head.headSha },
      status: verdict.state,
      summary: verdict.summary,
      artifacts: {
        confirmed_by: 'checks_api',
        checks: verdict.checks.map(({ name, state, detail, title }) => ({ name, state, conclusion: detail, title })),
        ...(failing.length > 0 ? { failing_checks: failing } : {}),
        nudge: nudge.artifacts,
      },
      // The same delivery (or a replay) confirms once per head and verdict.
      idempotencyKey: nudge.idempotencyKey ? `${nudge.idempotencyKey}:checks:${head.headSha}:${verdict.state}` : undefined,
    },
  };
}

/** The nudge's own verdict as a commit status of `head`, or null when it is about another commit. */
function vouchedStatus(nudge: GithubSignal, head: string, name: string): CommitStatus | null {
  const sha = nudge.attributes.sha;
  if (sha !== undefined && !head.startsWith(String(sha).toLowerCase())) return null;
  return { context: name, state: nudge.status === 'pass' ? 'success' : 'failure', description: nudge.summary ?? null };
}
