import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignalInput } from './resolver.js';

/**
 * GitHub webhooks as signals. Pure: no I/O, no database. The HTTP handler
 * verifies the delivery with `verifyGithubSignature`, turns it into signals
 * with `signalsFromGithubEvent` and hands those to the resolver.
 *
 *   check_suite completed, workflow_run completed -> `gh_ci`, one per pull
 *     request the run lists, for the commit it ran on;
 *   pull_request_review submitted -> `gh_review` (approved: pass,
 *     changes_requested: fail; a plain comment is not a verdict);
 *   ping -> ping; everything else -> ignored, with the reason.
 *
 * Replays: the signature covers the body but not the headers, so anyone who
 * captured a delivery can send it again under a new `X-GitHub-Delivery`. A
 * signal's idempotency key therefore names what the payload is about (the
 * check suite's completion, the workflow run's attempt, the review), not the
 * delivery: a replayed body is a duplicate however it is labelled, while a
 * re-run (a new attempt, a suite completing again) is a new result.
 */

/** A signal as the resolver takes it, less its `source` (the caller adds `'github'`). */
export type GithubSignal = Omit<SignalInput, 'source'>;

export type GithubEventOutcome =
  /** `dropped`: pull requests left out because the delivery named more than MAX_SIGNALS_PER_DELIVERY. */
  | { kind: 'signals'; signals: GithubSignal[]; dropped: number }
  | { kind: 'ping' }
  | { kind: 'ignored'; reason: string };

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/**
 * Whether `header` (`X-Hub-Signature-256`) is the HMAC-SHA256 of exactly
 * these bytes under one of `secrets` (the current one and, during a rotation,
 * the old one). The comparison takes the same time wherever the digests
 * differ; every secret is tried, so the time does not tell which one matched.
 */
export function verifyGithubSignature(rawBody: Uint8Array, header: string | undefined, secrets: string[]): boolean {
  const match = header ? SIGNATURE.exec(header.trim()) : null;
  if (!match) return false;
  const given = Buffer.from(match[1]!, 'hex');
  let valid = false;
  for (const secret of secrets) {
    // An empty key is one anybody can sign with.
    if (!secret) continue;
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    if (timingSafeEqual(given, expected)) valid = true;
  }
  return valid;
}

/** Conclusions that decide a CI gate; any other (neutral, skipped, stale, none) says nothing. */
const CI_CONCLUSIONS: Record<string, 'pass' | 'fail'> = {
  success: 'pass',
  failure: 'fail',
  timed_out: 'fail',
  cancelled: 'fail',
  action_required: 'fail',
  // A workflow that could not even start did not pass either.
  startup_failure: 'fail',
};

const REVIEW_STATES: Record<string, 'pass' | 'fail'> = { approved: 'pass', changes_requested: 'fail' };

/**
 * Most signals one delivery may post (one per pull request a CI run lists).
 * GitHub lists a handful at most; the cap bounds what one signed body, or a
 * replay of it, can make Arbor store and decide. Past it the rest are left out.
 */
export const MAX_SIGNALS_PER_DELIVERY = 20;

/** Review bodies can be long; a summary is for reading, the link has the rest. */
const MAX_SUMMARY_CHARS = 20_000;

export function signalsFromGithubEvent(event: string, payload: unknown, deliveryId: string): GithubEventOutcome {
  if (event === 'ping') return { kind: 'ping' };
  if (!isRecord(payload)) return ignored('the payload is not a JSON object');
  switch (event) {
    case 'check_suite':
    case 'workflow_run':
      return fromCiRun(event, payload, deliveryId);
    case 'pull_request_review':
      return fromReview(payload, deliveryId);
    default:
      return ignored(`event "${event}" is not one Arbor acts on`);
  }
}

function fromCiRun(event: 'check_suite' | 'workflow_run', payload: Record<string, unknown>, deliveryId: string): GithubEventOutcome {
  const action = text(payload.action);
  if (action !== 'completed') return ignored(`${event} ${action ?? 'without an action'} is not a result`);
  const run = payload[event];
  if (!isRecord(run)) return ignored(`the payload has no ${event}`);
  const repository = repositoryOf(payload);
  if (!repository) return ignored('the payload names no repository');

  const conclusion = text(run.conclusion);
  const status = conclusion === undefined ? undefined : CI_CONCLUSIONS[conclusion];
  if (!status) return ignored(`${event} concluded ${conclusion ?? 'nothing'}, which neither passes nor fails`);
  const sha = text(run.head_sha)?.toLowerCase();
  if (!sha || !/^[0-9a-f]{7,64}$/.test(sha)) return ignored(`the ${event} has no head_sha`);

  const listed = Array.isArray(run.pull_requests) ? run.pull_requests : [];
  if (listed.length === 0) return ignored(`the ${event} lists no pull request`);
  const prs = new Set<number>();
  for (const pr of listed) {
    if (!isRecord(pr)) continue;
    const number = pr.number;
    if (typeof number !== 'number' || !Number.isSafeInteger(number) || number <= 0) continue;
    // GitHub can list pull requests of other repositories in the fork network
    // whose head is this commit; their number means nothing here.
    if (!belongsTo(pr, repository)) continue;
    // A run that ends after the pull request moved on is not its CI any more.
    const head = isRecord(pr.head) ? text(pr.head.sha)?.toLowerCase() : undefined;
    if (head !== undefined && head !== sha) continue;
    prs.add(number);
  }
  if (prs.size === 0) return ignored(`none of the pull requests the ${event} lists is a pull request of ${repository.fullName} at ${sha.slice(0, 7)}`);

  const name =
    event === 'workflow_run'
      ? (text(run.name) || (isRecord(payload.workflow) ? text(payload.workflow.name) : undefined) || 'workflow')
      : (isRecord(run.app) ? text(run.app.name) : undefined) || 'check suite';
  const artifacts = compact({
    event,
    delivery_id: deliveryId,
    conclusion,
    ...(event === 'workflow_run'
      ? { workflow: name, html_url: text(run.html_url), run_id: run.id, run_attempt: run.run_attempt }
      : { app: name, check_suite_id: run.id, url: text(run.url) }),
    head_branch: text(run.head_branch),
  });
  const repo = repository.fullName.toLowerCase();
  // A workflow re-run is a new attempt of the same run; a re-run check suite
  // keeps its id and completes again later.
  const identity =
    event === 'workflow_run'
      ? idIdentity(event, run.id, String(typeof run.run_attempt === 'number' ? run.run_attempt : 1))
      : idIdentity(event, run.id, text(run.updated_at) ?? conclusion ?? '');
  const taken = [...prs].slice(0, MAX_SIGNALS_PER_DELIVERY);
  return {
    kind: 'signals',
    signals: taken.map((pr) => ({
      type: 'gh_ci',
      attributes: { repo, pr, sha },
      status,
      summary: clean(`CI: ${name} ${conclusion} on ${sha.slice(0, 7)}`),
      artifacts,
      idempotencyKey: idempotencyKey(identity ?? `delivery:${deliveryId}`, repo, pr),
    })),
    dropped: prs.size - taken.length,
  };
}

function fromReview(payload: Record<string, unknown>, deliveryId: string): GithubEventOutcome {
  const action = text(payload.action);
  if (action !== 'submitted') return ignored(`pull_request_review ${action ?? 'without an action'} is not a verdict`);
  const review = payload.review;
  if (!isRecord(review)) return ignored('the payload has no review');
  const state = text(review.state)?.toLowerCase();
  const status = state === undefined ? undefined : REVIEW_STATES[state];
  if (!status) return ignored(`a review that is ${state ?? 'without a state'} is not a verdict`);
  const repository = repositoryOf(payload);
  if (!repository) return ignored('the payload names no repository');
  const pullRequest = payload.pull_request;
  const pr = isRecord(pullRequest) ? pullRequest.number : undefined;
  if (typeof pr !== 'number' || !Number.isSafeInteger(pr) || pr <= 0) return ignored('the payload names no pull request');

  const login = isRecord(review.user) ? text(review.user.login) : undefined;
  const body = text(review.body)?.trim();
  const verdict = status === 'pass' ? 'approved' : 'changes requested';
  const sha = text(review.commit_id)?.toLowerCase();
  const repo = repository.fullName.toLowerCase();
  const attributes: Record<string, string | number> = { repo, pr };
  // The commit reviewed, so a gate can insist on a review of the latest push.
  if (sha && /^[0-9a-f]{7,64}$/.test(sha)) attributes.sha = sha;
  return {
    kind: 'signals',
    signals: [
      {
        type: 'gh_review',
        attributes,
        status,
        summary: clean(body || `Review: ${verdict}${login ? ` by ${login}` : ''}`),
        artifacts: compact({
          event: 'pull_request_review',
          delivery_id: deliveryId,
          state,
          html_url: text(review.html_url),
          user: login,
          review_id: review.id,
          author_association: text(review.author_association),
        }),
        // A review is submitted once: its id is the verdict's identity.
        idempotencyKey: idempotencyKey(idIdentity('pull_request_review', review.id, '') ?? `delivery:${deliveryId}`, repo, pr),
      },
    ],
    dropped: 0,
  };
}

/** `<event>:<id>[:<version>]` when the payload carries a usable id, else null (the delivery id stands in). */
function idIdentity(event: string, id: unknown, version: string): string | null {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) return null;
  return version ? `${event}:${id}:${version}` : `${event}:${id}`;
}

/** One key per pull request: after a failure part-way, a redelivery applies only what is missing. */
function idempotencyKey(identity: string, repo: string, pr: number): string {
  return `github:${identity}:${repo}#${pr}`;
}

interface Repository {
  id: number | undefined;
  fullName: string;
}

function repositoryOf(payload: Record<string, unknown>): Repository | null {
  const repository = payload.repository;
  if (!isRecord(repository)) return null;
  const fullName = text(repository.full_name);
  if (!fullName || !/^[^/\s]+\/[^/\s]+$/.test(fullName)) return null;
  return { id: typeof repository.id === 'number' ? repository.id : undefined, fullName };
}

/**
 * Whether a pull request a run lists is one of `repository`'s: by the id of
 * its base repository, else by its API URL (`.../repos/<owner>/<name>/pulls/<n>`).
 * One that says nothing either way is taken to be.
 */
function belongsTo(pr: Record<string, unknown>, repository: Repository): boolean {
  const base = isRecord(pr.base) && isRecord(pr.base.repo) ? pr.base.repo : undefined;
  if (base && typeof base.id === 'number' && repository.id !== undefined) return base.id === repository.id;
  const url = (base ? text(base.url) : undefined) ?? text(pr.url);
  const named = url ? /\/repos\/([^/]+\/[^/]+?)(?:\/pulls\/\d+)?\/?$/.exec(url) : null;
  if (named) return named[1]!.toLowerCase() === repository.fullName.toLowerCase();
  return true;
}

function ignored(reason: string): GithubEventOutcome {
  return { kind: 'ignored', reason };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-empty string, with what Postgres text cannot hold (NUL) taken out. */
function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const cleaned = value.replaceAll('\u0000', '');
  return cleaned === '' ? undefined : cleaned;
}

function clean(summary: string): string {
  if (summary.length <= MAX_SUMMARY_CHARS) return summary;
  // Never cut a surrogate pair in half.
  const cut = summary.slice(0, MAX_SUMMARY_CHARS - 1).replace(/[\uD800-\uDBFF]$/, '');
  return `${cut}…`;
}

/** Drops absent fields, so artifacts hold only what the payload had. */
function compact(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== null));
}
