import type { Db } from '../db/database.js';
import { normalizeSignal } from '../domain/signal-rules.js';
import { describeGithubError, type GithubClient } from '../github/github-client.js';
import { confirmCiSignal } from './ci-confirmation.js';
import { SignalError, resolveSignal, type ResolveResult, type SignalInput } from './resolver.js';

/**
 * A signal posted to the API. A `gh_ci` verdict about a pull request, when
 * Arbor has a GitHub token, is taken as GitHub's webhooks are: a nudge to ask
 * the checks API about the pull request's current head. The poster's own
 * verdict is not dropped — CI that reports only to Arbor is invisible to
 * GitHub — but counts as one more check of that head when it is about that
 * head (its sha, or no sha); a verdict about an older commit only nudges.
 * So a bridge's red stays red, a bridge's green passes only when nothing
 * else on the head is red or still running, and a stale green passes nothing.
 * Other types, a `gh_ci` that names no pull request, or no token: stored as posted.
 */

export type PostedSignalOutcome = { kind: 'resolved'; result: ResolveResult } | { kind: 'pending'; summary: string };

/** GitHub did not answer; nothing was stored (the message carries GitHub's status, never the token). */
export class ChecksApiError extends Error {
  override name = 'ChecksApiError';
}

/** The name the poster's verdict goes by among the head's checks (and in the rework prompt). */
export const POSTED_VERDICT_CHECK = 'verdict posted to Arbor';

export async function resolvePostedSignal(db: Db, github: GithubClient | null, input: SignalInput): Promise<PostedSignalOutcome> {
  if (!github || input.type !== 'gh_ci') return { kind: 'resolved', result: await resolveSignal(db, input) };
  const checked = normalizeSignal(input.type, input.attributes);
  if (!checked.ok) throw new SignalError(checked.error);
  const { attributes } = checked.signal;
  if (attributes.repo === undefined || attributes.pr === undefined) return { kind: 'resolved', result: await resolveSignal(db, input) };
  const confirmation = await confirmCiSignal(
    github,
    { ...input, attributes, artifacts: { posted: { status: input.status, summary: input.summary ?? null, artifacts: input.artifacts ?? null } } },
    { vouchedAs: POSTED_VERDICT_CHECK },
  ).catch((err: unknown) => {
    throw new ChecksApiError(describeGithubError(err));
  });
  if (confirmation.kind === 'pending') return confirmation;
  return { kind: 'resolved', result: await resolveSignal(db, { ...confirmation.signal, source: input.source }) };
}
