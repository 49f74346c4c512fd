import { createGithubClient } from '../../github/github-client.js';
import { ChecksApiError, resolvePostedSignal } from '../../signals/posted-ci.js';
import { SignalError } from '../../signals/resolver.js';
import { getSignal, listSignals as querySignals } from '../../store/signals.js';
import { taskLabels } from '../../store/task-labels.js';
import type { AppDeps, AppRouteHandler } from '../context.js';
import { ApiError } from '../errors.js';
import type * as routes from './signals.routes.js';
import { SIGNAL_FIELDS, toSignalJson } from './signals.schemas.js';

export function signalHandlers({ db, config }: AppDeps) {
  // With a token, a gh_ci verdict about a pull request is checked against the checks API.
  const github = config.github ? createGithubClient(config.github) : null;

  const resolveSignal: AppRouteHandler<typeof routes.resolveSignal> = async (c) => {
    const body = c.req.valid('json') as Record<string, unknown>;
    const attributes = Object.fromEntries(
      Object.entries(body).filter(([name]) => !(SIGNAL_FIELDS as readonly string[]).includes(name)),
    ) as Record<string, string | number>;
    try {
      const outcome = await resolvePostedSignal(db, github, {
        type: body.type as string,
        attributes,
        status: body.status as 'pass' | 'fail',
        summary: body.summary as string | undefined,
        artifacts: body.artifacts,
        idempotencyKey: body.idempotency_key as string | undefined,
        source: 'api',
      });
      if (outcome.kind === 'pending') return c.json({ pending: outcome.summary }, 202);
      const { result } = outcome;
      return c.json({ signal_id: result.signalId, matched: result.matched, duplicate: result.duplicate }, 200);
    } catch (err) {
      if (err instanceof SignalError) throw new ApiError(422, err.message);
      if (err instanceof ChecksApiError) {
        c.get('logger').warn({ err: err.message }, 'the GitHub checks API did not answer');
        // Nothing was stored: the poster may send it again.
        throw new ApiError(502, 'the GitHub checks API did not answer', { cause: err.message });
      }
      throw err;
    }
  };

  const listSignals: AppRouteHandler<typeof routes.listSignals> = async (c) => {
    const { type, repo, pr, limit, cursor } = c.req.valid('query');
    const anchor = cursor ? await getSignal(db, cursor) : undefined;
    if (cursor && !anchor) throw new ApiError(422, 'cursor names no signal');
    const signals = await querySignals(db, {
      type,
      repo,
      pr,
      limit: limit + 1,
      afterSignalId: anchor?.id,
    });
    const page = signals.slice(0, limit);
    const labels = await taskLabels(db, page.flatMap((s) => s.matchedTaskIds));
    return c.json({ signals: page.map((s) => toSignalJson(s, labels)), next_cursor: signals.length > limit ? page.at(-1)!.id : null }, 200);
  };

  return { resolveSignal, listSignals };
}
