import { ArborApiError, followSessionLog, ok, type LogLine, type Session } from '../client/arbor-client.js';
import { printLines, wantsJson, type CliContext } from './context.js';

/**
 * `arbor logs <task-or-session> [-f]`: a session's log, or every session of
 * a task oldest first; `-f` then follows the newest one until it ends.
 * `--json` prints one JSON line per log line.
 */

const PAGE = 1000;

export async function showLogs(ctx: CliContext): Promise<void> {
  const id = ctx.args['task-or-session']!;
  const sessions = await sessionsOf(ctx, id);
  if (sessions.length === 0) {
    ctx.err(`task ${id} has not run yet: no sessions`);
    return;
  }
  const several = sessions.length > 1;
  let last = -1;
  for (const session of sessions) {
    if (several && !wantsJson(ctx)) {
      printLines(ctx, [`── session ${session.id} (${session.kind}${session.attempt ? `, attempt ${session.attempt}` : ''}, ${session.status}) ──`]);
    }
    last = await printPages(ctx, session.id);
  }
  const newest = sessions[sessions.length - 1]!;
  if (ctx.values.follow !== true || newest.status === 'ended') return;
  for await (const line of followSessionLog(ctx.client, newest.id, { after: last })) print(ctx, newest.id, line);
}

/** Prints the session's log as it is now; the seq of its last line (-1 for none). */
async function printPages(ctx: CliContext, sessionId: string): Promise<number> {
  let after = -1;
  for (;;) {
    const page = await ok(ctx.client.api.GET('/api/sessions/{id}/logs', { params: { path: { id: sessionId }, query: { after, limit: PAGE } } }));
    // The route answers a stream only to Accept: text/event-stream, which this request does not send.
    if (typeof page === 'string') throw new Error('the log came back as a stream, not a JSON page');
    for (const line of page.lines) print(ctx, sessionId, line);
    after = page.next_after;
    if (page.lines.length < PAGE) return after;
  }
}

function print(ctx: CliContext, sessionId: string, line: LogLine): void {
  if (wantsJson(ctx)) ctx.out.write(`${JSON.stringify({ session_id: sessionId, ...line })}\n`);
  else ctx.out.write(`${line.text}\n`);
}

/** The id names a task (its sessions, oldest first) or a session (itself). */
export async function sessionsOf(ctx: CliContext, id: string): Promise<Session[]> {
  const task = await ok(ctx.client.api.GET('/api/tasks/{id}', { params: { path: { id } } })).catch((err: unknown) => {
    if (err instanceof ArborApiError && err.status === 404) return null;
    throw err;
  });
  if (!task) {
    const session = await ok(ctx.client.api.GET('/api/sessions/{id}', { params: { path: { id } } })).catch((err: unknown) => {
      if (err instanceof ArborApiError && err.status === 404) throw new ArborApiError(404, `no task or session ${id}`, undefined, err.requestId);
      throw err;
    });
    return [session];
  }
  // The server knows every session that ran the task, a pinned one that has moved on included (its runs).
  const { sessions } = await ok(ctx.client.api.GET('/api/sessions', { params: { query: { task_id: task.id, limit: 500 } } }));
  return [...sessions].sort((a, b) => a.created_at.localeCompare(b.created_at));
}
