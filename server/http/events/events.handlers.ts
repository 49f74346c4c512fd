import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { readEvents } from '../../store/event-log.js';
import { getGoal } from '../../store/goals.js';
import type { AppDeps, AppEnv, AppRouteHandler } from '../context.js';
import { ApiError, notFound, shuttingDown } from '../errors.js';
import { EventFeed, eventFrame } from './events.feed.js';
import type * as routes from './events.routes.js';
import { toEventJson } from './events.schemas.js';
import { wantsEventStream as wantsStream } from '../common.schemas.js';

/** Rows per read when a stream catches up. */
const STREAM_PAGE = 500;
const KEEP_ALIVE_MS = 15_000;
/** A JSON page waits this long at most for event writers in flight; then 503, never a page with a hole. */
const PAGE_WAIT_MS = 5_000;

export function eventHandlers({ db, logger, notifications, shutdown }: AppDeps) {
  // One feed per app: every stream of this app shares its horizon queries.
  const feed = new EventFeed(db, logger.child({ component: 'events' }), notifications);

  const list: AppRouteHandler<typeof routes.listEvents> = async (c) => {
    const query = c.req.valid('query');
    const resumeAfter = c.req.valid('header')['last-event-id'] ?? query.after;
    const goalId = query.goal_id;
    // Checked before anything streams: afterwards only an event could say so.
    if (goalId !== undefined && !(await getGoal(db, goalId))) throw notFound('goal');

    if (wantsStream(c.req.header('accept'))) {
      if (shutdown?.aborted) throw shuttingDown();
      return follow(c, { after: resumeAfter === undefined ? null : BigInt(resumeAfter), goalId });
    }

    const after = BigInt(resumeAfter ?? '0');
    const horizon = await feed.horizon({ maxWaitMs: PAGE_WAIT_MS, signal: c.req.raw.signal });
    if (horizon === null) {
      throw new ApiError(503, 'events are being written; try again shortly', undefined, { 'Retry-After': '1' });
    }
    const rows =
      horizon > after ? await readEvents(db, { after: String(after), upTo: String(horizon), goalId, limit: query.limit }) : [];
    // A short page has read everything up to the horizon, so the next page starts there, past other goals' ids.
    const nextAfter = rows.length === query.limit ? rows[rows.length - 1]!.id : String(horizon > after ? horizon : after);
    return c.json({ events: rows.map(toEventJson), next_after: nextAfter }, 200);
  };

  /**
   * One client's stream: catch up from `after` (or from the current end),
   * then read up to each new horizon the feed announces. Reads are serialized,
   * and writes wait for the client to take them, so a slow client slows its
   * own reads and nobody else's.
   */
  function follow(c: Context<AppEnv>, start: { after: bigint | null; goalId: string | undefined }) {
    const log = c.get('logger');
    return streamSSE(
      c,
      async (sse) => {
        const stopped = new AbortController();
        let cursor = start.after ?? 0n;
        let target = 0n;
        let ready = false;
        let pumping = false;
        let keepAlive: NodeJS.Timeout | null = null;
        let unsubscribe = () => {};
        const done = new Promise<void>((resolve) => stopped.signal.addEventListener('abort', () => resolve()));
        const stop = () => {
          shutdown?.removeEventListener('abort', stop);
          unsubscribe();
          if (keepAlive) clearInterval(keepAlive);
          stopped.abort();
        };
        sse.onAbort(stop);
        if (shutdown?.aborted) stop();
        shutdown?.addEventListener('abort', stop, { once: true });

        const pump = async () => {
          if (pumping || !ready) return;
          pumping = true;
          try {
            while (!stopped.signal.aborted && target > cursor) {
              const upTo = target;
              // Following live: the frames the feed read and serialized once for every stream.
              const shared = feed.framesBetween(cursor, upTo, start.goalId);
              if (shared !== null) {
                if (shared.length > 0) await sse.write(shared.join(''));
                cursor = upTo;
                continue;
              }
              const rows = await readEvents(db, { after: String(cursor), upTo: String(upTo), goalId: start.goalId, limit: STREAM_PAGE });
              if (stopped.signal.aborted) return;
              if (rows.length > 0) await sse.write(rows.map(eventFrame).join(''));
              cursor = rows.length === STREAM_PAGE ? BigInt(rows[rows.length - 1]!.id) : upTo;
            }
          } catch (err) {
            // Ending the stream is the honest answer: the client reconnects with Last-Event-ID and loses nothing.
            log.warn({ err: (err as Error).message }, 'event stream failed');
            stop();
          } finally {
            pumping = false;
          }
        };

        try {
          // Subscribe before reading the starting horizon, so nothing that lands in between is missed.
          unsubscribe = feed.subscribe((horizon) => {
            if (horizon > target) target = horizon;
            void pump();
          });
          keepAlive = setInterval(() => void sse.write(': ping\n\n'), KEEP_ALIVE_MS);
          keepAlive.unref();

          const horizon = await feed.horizon({ signal: stopped.signal });
          if (horizon === null) return;
          if (start.after === null) cursor = horizon;
          if (horizon > target) target = horizon;
          ready = true;
          // Tells the client (and any proxy) the stream is open and following from here on.
          await sse.write(': connected\n\n');
          void pump();
          await done;
        } catch (err) {
          // Not sent as an `error` event: database messages stay in the log.
          log.warn({ err: (err as Error).message }, 'event stream failed');
        } finally {
          stop();
        }
      },
    );
  }

  return { list };
}
