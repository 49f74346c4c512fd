import { setTimeout as sleep } from 'node:timers/promises';
import { streamSSE } from 'hono/streaming';
import { getSession as findSession, listSessions as querySessions, readSessionLogs, requestSessionStop } from '../../store/sessions.js';
import { isUuid, wantsEventStream } from '../common.schemas.js';
import type { AppDeps, AppRouteHandler } from '../context.js';
import { ApiError, notFound, shuttingDown } from '../errors.js';
import type * as routes from './sessions.routes.js';
import { toSessionJson } from './sessions.schemas.js';

/** Log lines are not NOTIFYed (far too many); a follower polls at this pace. */
const LOG_POLL_MS = 250;

export function sessionHandlers({ db, shutdown }: AppDeps) {
  const list: AppRouteHandler<typeof routes.listSessions> = async (c) => {
    const { goal_id, task_id, limit } = c.req.valid('query');
    const sessions = await querySessions(db, { goalId: goal_id, taskId: task_id, limit });
    return c.json({ sessions: sessions.map(toSessionJson) }, 200);
  };

  const get: AppRouteHandler<typeof routes.getSession> = async (c) => {
    const { id } = c.req.valid('param');
    const session = isUuid(id) ? await findSession(db, id) : undefined;
    if (!session) throw notFound('session');
    return c.json(toSessionJson(session), 200);
  };

  const logs: AppRouteHandler<typeof routes.sessionLogs> = async (c) => {
    const { id } = c.req.valid('param');
    const { after, before_seq, limit } = c.req.valid('query');
    const session = isUuid(id) ? await findSession(db, id) : undefined;
    if (!session) throw notFound('session');
    if (!wantsEventStream(c.req.header('accept'))) {
      // One line more than asked, read on the side that pages: it says whether an older page exists.
      const backwards = before_seq !== undefined;
      const read = await readSessionLogs(db, id, { after, before: before_seq, limit: backwards ? limit + 1 : limit });
      const lines = backwards && read.length > limit ? read.slice(1) : read;
      const json = lines.map((l) => ({ ...l, at: l.at.toISOString() }));
      const first = lines[0]?.seq;
      // A forward page asks the index once whether any line is stored before it.
      const older = backwards
        ? read.length > limit
        : first !== undefined && (await readSessionLogs(db, id, { after: -1, before: first, limit: 1 })).length > 0;
      return c.json({ lines: json, next_after: lines.at(-1)?.seq ?? after, next_before: older ? first! : null }, 200);
    }
    if (shutdown?.aborted) throw shuttingDown();
    return streamSSE(c, async (stream) => {
      let last = after;
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      while (open && !shutdown?.aborted) {
        const lines = await readSessionLogs(db, id, { after: last, limit: 1000 });
        for (const line of lines) {
          await stream.writeSSE({ id: String(line.seq), event: 'line', data: JSON.stringify({ ...line, at: line.at.toISOString() }) });
          last = line.seq;
        }
        if (lines.length === 1000) continue;
        const current = await findSession(db, id);
        // A pinned session goes idle between tasks; only an ended one has nothing more to say.
        if (!current || current.status === 'ended') {
          const rest = await readSessionLogs(db, id, { after: last, limit: 1000 });
          for (const line of rest) {
            await stream.writeSSE({ id: String(line.seq), event: 'line', data: JSON.stringify({ ...line, at: line.at.toISOString() }) });
          }
          await stream.writeSSE({ event: 'end', data: JSON.stringify({ status: current?.status ?? 'ended' }) });
          return;
        }
        // Woken by the shutdown too: the stream ends at once, not after the poll.
        await sleep(LOG_POLL_MS, undefined, { signal: shutdown }).catch(() => {});
      }
    }) as never;
  };

  const stop: AppRouteHandler<typeof routes.stopSession> = async (c) => {
    const { id } = c.req.valid('param');
    if (!isUuid(id)) throw notFound('session');
    const result = await requestSessionStop(db, id);
    if (result === 'not_found') throw notFound('session');
    if (result === 'not_running') throw new ApiError(409, 'the session is not running');
    return c.json({ session: toSessionJson((await findSession(db, id))!) }, 202);
  };

  return { list, get, logs, stop };
}
