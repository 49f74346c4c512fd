import { resolveSignal as resolve, SignalError } from '../../signals/resolver.js';
import { getSignal, listSignals as querySignals } from '../../store/signals.js';
import type { AppDeps, AppRouteHandler } from '../context.js';
import { ApiError } from '../errors.js';
import type * as routes from './signals.routes.js';
import { SIGNAL_FIELDS, toSignalJson } from './signals.schemas.js';

export function signalHandlers({ db }: AppDeps) {
  const resolveSignal: AppRouteHandler<typeof routes.resolveSignal> = async (c) => {
    const body = c.req.valid('json') as Record<string, unknown>;
    const attributes = Object.fromEntries(
      Object.entries(body).filter(([name]) => !(SIGNAL_FIELDS as readonly string[]).includes(name)),
    ) as Record<string, string | number>;
    try {
      const result = await resolve(db, {
        type: body.type as string,
        attributes,
        status: body.status as 'pass' | 'fail',
        summary: body.summary as string | undefined,
        artifacts: body.artifacts,
        idempotencyKey: body.idempotency_key as string | undefined,
        source: 'api',
      });
      return c.json({ signal_id: result.signalId, matched: result.matched, duplicate: result.duplicate }, 200);
    } catch (err) {
      if (err instanceof SignalError) throw new ApiError(422, err.message);
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
    return c.json({ signals: page.map(toSignalJson), next_cursor: signals.length > limit ? page.at(-1)!.id : null }, 200);
  };

  return { resolveSignal, listSignals };
}
