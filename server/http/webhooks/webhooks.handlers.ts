import { createGithubClient, describeGithubError } from '../../github/github-client.js';
import { confirmCiSignal } from '../../signals/ci-confirmation.js';
import { MAX_SIGNALS_PER_DELIVERY, signalsFromGithubEvent, verifyGithubSignature, type GithubSignal } from '../../signals/github.js';
import { SignalError, resolveSignal } from '../../signals/resolver.js';
import { startGithubTriggers } from '../../triggers/github-triggers.js';
import type { AppDeps, AppRouteHandler } from '../context.js';
import { ApiError } from '../errors.js';
import type * as routes from './webhooks.routes.js';

const EVENT_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const DELIVERY_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export function webhookHandlers({ db, config }: AppDeps) {
  // With a token, CI webhooks are nudges and the checks API gives the verdict.
  const githubApi = config.github ? createGithubClient(config.github) : null;

  const github: AppRouteHandler<typeof routes.githubWebhook> = async (c) => {
    const current = config.auth.githubWebhookSecret;
    if (!current) throw new ApiError(503, 'webhook secret not configured');
    const secrets = [current, config.auth.githubWebhookSecretOld].filter((s): s is string => !!s);

    // The signature covers the bytes GitHub sent: read them before any parsing.
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const signature = c.req.header('x-hub-signature-256');
    if (!signature) throw new ApiError(401, 'missing X-Hub-Signature-256 signature');
    if (!verifyGithubSignature(raw, signature, secrets)) throw new ApiError(401, 'invalid X-Hub-Signature-256 signature');

    const event = c.req.header('x-github-event')?.trim();
    if (!event || !EVENT_NAME.test(event)) throw new ApiError(400, 'missing or malformed X-GitHub-Event header');
    const delivery = c.req.header('x-github-delivery')?.trim();
    if (!delivery || !DELIVERY_ID.test(delivery)) throw new ApiError(400, 'missing or malformed X-GitHub-Delivery header');
    const payload = parseJson(raw);

    const log = c.get('logger');
    await startGithubTriggers({ db, config, logger: log }, event, delivery, payload); // templates started by this event (triggers)
    const outcome = signalsFromGithubEvent(event, payload, delivery);
    if (outcome.kind === 'ping') {
      log.info({ event, delivery }, 'github webhook ping');
      return c.json({ ok: true as const }, 200);
    }
    if (outcome.kind === 'ignored') {
      log.info({ event, delivery, reason: outcome.reason }, 'github webhook ignored');
      return c.json({ ignored: outcome.reason }, 202);
    }
    if (outcome.dropped > 0) {
      log.warn(
        { event, delivery, dropped: outcome.dropped, limit: MAX_SIGNALS_PER_DELIVERY },
        'github webhook names more pull requests than one delivery may signal; the rest are left out',
      );
    }
    // One signal per pull request, each keyed by what the payload is about: a
    // redelivery, or a replay under a new delivery id, applies only what is missing.
    const results: { signal_id: string; matched: string[]; duplicate: boolean }[] = [];
    const pending: string[] = [];
    for (const received of outcome.signals) {
      let signal: GithubSignal = received;
      if (githubApi && received.type === 'gh_ci') {
        const confirmation = await confirmCiSignal(githubApi, received).catch((err: unknown) => {
          log.warn({ event, delivery, err: describeGithubError(err) }, 'the GitHub checks API did not answer');
          // GitHub shows the delivery as failed; redelivering it asks again.
          throw new ApiError(502, 'the GitHub checks API did not answer', { cause: describeGithubError(err) });
        });
        if (confirmation.kind === 'pending') {
          pending.push(confirmation.summary);
          continue;
        }
        signal = confirmation.signal;
      }
      try {
        const result = await resolveSignal(db, { ...signal, source: 'github' });
        results.push({ signal_id: result.signalId, matched: result.matched, duplicate: result.duplicate });
      } catch (err) {
        if (err instanceof SignalError) throw new ApiError(422, err.message);
        throw err;
      }
    }
    log.info({ event, delivery, signals: results, pending }, 'github webhook applied');
    return c.json({ signals: results, ...(pending.length > 0 ? { pending } : {}) }, 200);
  };

  return { github };
}

function parseJson(raw: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    throw new ApiError(400, 'the body is not valid UTF-8 JSON');
  }
}
