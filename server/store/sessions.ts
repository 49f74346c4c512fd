import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { SessionsTable } from '../db/schema.js';
import type { ConversationTotals, UsageFigures } from '../domain/run-usage.js';
import { appendEvents } from './events.js';
import { inTransaction } from './transactions.js';

/**
 * Agent sessions and their logs. A spawned session lives for one task run; a
 * goal's pinned session lives as long as the goal, running its pinned tasks
 * one after another (`running`), `idle` in between, and keeps the agent's
 * conversation id so each task resumes the same conversation.
 */

export type Session = Selectable<SessionsTable>;
/** A session as the API shows it: with the key of the task of its current or last run. */
export type SessionWithTaskKey = Session & { taskKey: string | null };
export type LogStream = 'stdout' | 'stderr' | 'event';

export interface SessionRun {
  taskId: string;
  attempt: number;
  owner: string;
  host: string;
  tokenHash: string;
}

export async function createSession(
  db: Db,
  session: {
    id: string;
    goalId: string;
    kind: 'pinned' | 'spawned';
    agent: string;
    worktreePath: string;
    branch: string;
    baseSha: string | null;
    /** A conversation carried over from an earlier session: its id and the last totals its agent reported. */
    conversation?: { agentSessionId: string; totals: ConversationTotals };
  } & SessionRun,
): Promise<Session> {
  const { conversation, ...fields } = session;
  return inTransaction(db, async (trx) => {
    const row = await trx
      .insertInto('sessions')
      .values({
        ...fields,
        ...(conversation
          ? {
              agentSessionId: conversation.agentSessionId,
              conversationCostUsd: conversation.totals.costUsd,
              conversationInputTokens: conversation.totals.inputTokens,
              conversationOutputTokens: conversation.totals.outputTokens,
            }
          : {}),
        status: 'starting',
        heartbeatAt: sql`now()`,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx.updateTable('tasks').set({ sessionId: row.id }).where('id', '=', session.taskId).execute();
    await appendEvents(trx, [
      { type: 'session.started', goalId: row.goalId, taskId: row.taskId, sessionId: row.id, data: { kind: row.kind, branch: row.branch } },
    ]);
    return row;
  });
}

export async function findLivePinnedSession(db: Db, goalId: string): Promise<Session | undefined> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('goalId', '=', goalId)
    .where('kind', '=', 'pinned')
    .where('status', '<>', 'ended')
    .executeTakeFirst();
}

/** The pinned session takes its next task: a new run with its own token, the same conversation. */
export async function resumePinnedSession(db: Db, sessionId: string, run: SessionRun): Promise<Session> {
  return inTransaction(db, async (trx) => {
    const row = await trx
      .updateTable('sessions')
      .set({ ...run, status: 'starting', reported: null, stopRequestedAt: null, pid: null, pidStartedAt: null, heartbeatAt: sql`now()`, updatedAt: sql`now()` })
      .where('id', '=', sessionId)
      .where('status', '=', 'idle')
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx.updateTable('tasks').set({ sessionId: row.id }).where('id', '=', run.taskId).execute();
    await appendEvents(trx, [
      { type: 'session.started', goalId: row.goalId, taskId: row.taskId, sessionId: row.id, data: { kind: 'pinned', resumed: true } },
    ]);
    return row;
  });
}

export async function markSessionRunning(db: Db, sessionId: string, process: { pid: number; startTime: string | null }): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ status: 'running', pid: process.pid, pidStartedAt: process.startTime, startedAt: sql`coalesce(started_at, now())`, updatedAt: sql`now()` })
    .where('id', '=', sessionId)
    // A late write must not bring an ended (or idle) session back to life.
    .where('status', '=', 'starting')
    .execute();
}

export interface SessionRunEnd {
  /** `idle` keeps a pinned session for the goal's next pinned task. */
  status: 'idle' | 'ended';
  endReason: string;
  exitCode: number | null;
  exitSignal: string | null;
  agentSessionId: string | null;
  /** What this run alone cost. */
  usage: UsageFigures;
  /** The conversation's running totals after this run; null leaves them as they were. */
  conversationTotals: ConversationTotals | null;
}

/** The last running totals a session's agent reported for its conversation. */
export function conversationTotalsOf(session: Session): ConversationTotals {
  const n = (v: string | null) => (v === null ? null : Number(v));
  return { costUsd: n(session.conversationCostUsd), inputTokens: n(session.conversationInputTokens), outputTokens: n(session.conversationOutputTokens) };
}

/**
 * Records how a run ended; its cost and tokens add up over a pinned session's
 * runs, into its task (over all attempts) and into the goal.
 */
export async function recordSessionRunEnd(db: Db, sessionId: string, end: SessionRunEnd): Promise<void> {
  await inTransaction(db, async (trx) => {
    const row = await trx
      .updateTable('sessions')
      .set({
        status: end.status,
        endReason: end.endReason,
        exitCode: end.exitCode,
        exitSignal: end.exitSignal,
        agentSessionId: sql`coalesce(${end.agentSessionId}, agent_session_id)`,
        costUsd: sql`cost_usd + ${end.usage.costUsd}`,
        inputTokens: sql`input_tokens + ${end.usage.inputTokens}`,
        outputTokens: sql`output_tokens + ${end.usage.outputTokens}`,
        ...(end.conversationTotals
          ? {
              conversationCostUsd: end.conversationTotals.costUsd,
              conversationInputTokens: end.conversationTotals.inputTokens,
              conversationOutputTokens: end.conversationTotals.outputTokens,
            }
          : {}),
        tokenHash: null,
        pid: null,
        endedAt: end.status === 'ended' ? sql`now()` : null,
        updatedAt: sql`now()`,
      })
      .where('id', '=', sessionId)
      // Ended once: a second end (an orphan sweep racing another) changes nothing.
      .where('status', '<>', 'ended')
      .returning(['goalId', 'taskId'])
      .executeTakeFirst();
    if (!row) return;
    const { costUsd, inputTokens, outputTokens } = end.usage;
    if (costUsd > 0 || inputTokens > 0 || outputTokens > 0) {
      const added = {
        costUsd: sql<string>`cost_usd + ${costUsd}`,
        inputTokens: sql<string>`input_tokens + ${inputTokens}`,
        outputTokens: sql<string>`output_tokens + ${outputTokens}`,
      };
      await trx.updateTable('goals').set(added).where('id', '=', row.goalId).execute();
      if (row.taskId) await trx.updateTable('tasks').set(added).where('id', '=', row.taskId).execute();
    }
    await appendEvents(trx, [
      {
        type: end.status === 'ended' ? 'session.ended' : 'session.idle',
        goalId: row.goalId,
        taskId: row.taskId,
        sessionId,
        data: { reason: end.endReason, exit_code: end.exitCode, signal: end.exitSignal },
      },
    ]);
  });
}

/**
 * Ends `owner`'s idle pinned sessions of goals that have finished; returns
 * their worktrees (with the repo they belong to) for removal. Only the
 * owner's: the worktree is on its machine.
 */
export async function endFinishedPinnedSessions(db: Db, owner: string): Promise<{ id: string; worktreePath: string | null; repo: string }[]> {
  const { rows } = await sql<{ id: string; worktreePath: string | null; repo: string }>`
    UPDATE sessions s SET status = 'ended', end_reason = 'goal finished', ended_at = now(), updated_at = now()
    FROM goals g
    WHERE g.id = s.goal_id AND s.kind = 'pinned' AND s.status = 'idle' AND s.owner = ${owner}
      AND g.status IN ('succeeded', 'failed', 'cancelled')
    RETURNING s.id, s.worktree_path, g.repo`.execute(db);
  return rows;
}

/** Worktrees in use and the repositories of open goals, for pruning at start. */
export async function worktreesInUse(db: Db): Promise<{ repos: string[]; paths: string[] }> {
  const [repos, paths] = await Promise.all([
    db.selectFrom('goals').select('repo').distinct().where('status', 'in', ['pending', 'running', 'paused']).execute(),
    db.selectFrom('sessions').select('worktreePath').where('status', '<>', 'ended').where('worktreePath', 'is not', null).execute(),
  ]);
  return { repos: repos.map((r) => r.repo), paths: paths.map((p) => p.worktreePath!) };
}

/**
 * Heartbeats sessions. The rows are locked in id order, so two heartbeats of
 * overlapping sets wait for each other instead of deadlocking.
 */
export async function touchSessions(db: Db, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  await sql`
    UPDATE sessions SET heartbeat_at = now()
    WHERE id IN (SELECT id FROM sessions WHERE id = ANY(${sessionIds}::uuid[]) ORDER BY id FOR NO KEY UPDATE)`.execute(db);
}

function sessionsWithTaskKey(db: Db) {
  return db.selectFrom('sessions').leftJoin('tasks', 'tasks.id', 'sessions.taskId').selectAll('sessions').select('tasks.key as taskKey');
}

export async function getSession(db: Db, id: string): Promise<SessionWithTaskKey | undefined> {
  return sessionsWithTaskKey(db).where('sessions.id', '=', id).executeTakeFirst();
}

export async function listSessions(
  db: Db,
  options: { goalId?: string; taskId?: string; limit: number; before?: Date },
): Promise<SessionWithTaskKey[]> {
  let query = sessionsWithTaskKey(db).orderBy('sessions.createdAt', 'desc').orderBy('sessions.id', 'desc').limit(options.limit);
  if (options.goalId) query = query.where('sessions.goalId', '=', options.goalId);
  if (options.taskId) {
    const taskId = options.taskId;
    // A pinned session moves on to other tasks: its runs remember which tasks it ran.
    query = query.where((eb) =>
      eb.or([eb('sessions.taskId', '=', taskId), eb('sessions.id', 'in', eb.selectFrom('taskRuns').select('taskRuns.sessionId').where('taskRuns.taskId', '=', taskId))]),
    );
  }
  if (options.before) query = query.where('sessions.createdAt', '<', options.before);
  return query.execute();
}

/** A person asks a session to stop; the instance running it notices and ends the process group. */
export async function requestSessionStop(db: Db, id: string): Promise<'requested' | 'not_found' | 'not_running'> {
  return inTransaction(db, async (trx) => {
    const row = await trx
      .updateTable('sessions')
      .set({ stopRequestedAt: sql`now()`, updatedAt: sql`now()` })
      .where('id', '=', id)
      .where('status', 'in', ['starting', 'running'])
      .returning(['goalId', 'taskId'])
      .executeTakeFirst();
    if (!row) {
      const exists = await trx.selectFrom('sessions').select('id').where('id', '=', id).executeTakeFirst();
      return exists ? 'not_running' : 'not_found';
    }
    await appendEvents(trx, [{ type: 'session.stop_requested', goalId: row.goalId, taskId: row.taskId, sessionId: id }]);
    return 'requested';
  });
}

export async function sessionsToStop(db: Db, sessionIds: string[]): Promise<string[]> {
  if (sessionIds.length === 0) return [];
  const rows = await db
    .selectFrom('sessions')
    .select('id')
    .where('id', 'in', sessionIds)
    .where('stopRequestedAt', 'is not', null)
    .execute();
  return rows.map((r) => r.id);
}

/** The session a task token belongs to, while its run is live. */
export async function findSessionByTokenHash(db: Db, tokenHash: string): Promise<{ id: string; taskId: string } | undefined> {
  const row = await db
    .selectFrom('sessions')
    .select(['id', 'taskId'])
    .where('tokenHash', '=', tokenHash)
    .where('status', 'in', ['starting', 'running'])
    .executeTakeFirst();
  return row && row.taskId ? { id: row.id, taskId: row.taskId } : undefined;
}

export type AgentReport = { kind: 'complete'; summary?: string; artifacts?: unknown } | { kind: 'block'; reason: string };

/**
 * An agent's own word on its task, kept until its process exits (the exit code
 * is the fallback). Fenced by session and attempt: only the live session of
 * the task's current attempt takes it — `sessionId` is the reporting agent's
 * own session (from its token), so a leftover agent of an earlier attempt can
 * never decide a newer one. Without one (a person with the API token), the
 * current attempt's live session.
 */
export async function recordAgentReport(
  db: Db,
  taskId: string,
  report: AgentReport,
  sessionId: string | null,
): Promise<'recorded' | 'not_running'> {
  const { rows } = await sql<{ id: string }>`
    UPDATE sessions s SET reported = ${JSON.stringify(report)}::jsonb, updated_at = now()
    FROM tasks t
    WHERE t.id = ${taskId} AND t.status = 'running' AND s.task_id = t.id AND s.attempt = t.attempt
      AND s.status IN ('starting', 'running')
      AND (${sessionId}::uuid IS NULL OR s.id = ${sessionId}::uuid)
    RETURNING s.id`.execute(db);
  return rows.length > 0 ? 'recorded' : 'not_running';
}

export async function readAgentReport(db: Db, sessionId: string): Promise<AgentReport | null> {
  const row = await db.selectFrom('sessions').select('reported').where('id', '=', sessionId).executeTakeFirst();
  return (row?.reported as AgentReport | null | undefined) ?? null;
}

/**
 * Live sessions on this host left by owners that are gone: instances known to
 * have died (`deadOwners`), and with `staleMs`, any whose owner has not
 * heartbeated them for that long (an owner that never registered).
 */
export async function findOrphanedSessions(db: Db, options: { host: string; deadOwners: string[]; staleMs?: number }): Promise<Session[]> {
  if (options.deadOwners.length === 0 && options.staleMs === undefined) return [];
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('host', '=', options.host)
    // An idle pinned session runs nothing: the goal's next pinned task resumes it, whoever runs it.
    .where('status', 'in', ['starting', 'running'])
    .where((eb) => {
      const gone = options.deadOwners.length > 0 ? [eb('owner', 'in', options.deadOwners)] : [];
      if (options.staleMs !== undefined) {
        gone.push(eb('heartbeatAt', '<', sql<Date>`now() - make_interval(secs => ${options.staleMs / 1000})`));
      }
      return eb.or(gone);
    })
    .execute();
}

export interface LogLine {
  stream: LogStream;
  text: string;
  at: Date;
}

/** Lines per INSERT: five bound arrays whatever the count, but one statement must stay short. */
const LOG_INSERT_CHUNK = 1000;

/**
 * Appends lines and keeps at most `maxLines` per session: the oldest are
 * dropped and a marker at seq 0 says how many. Sequence numbers come from the
 * session row, so concurrent writers never collide. Lines travel as arrays
 * (unnest), so a large batch is a few statements, not thousands of bind
 * parameters (Postgres allows 65,535 per statement).
 *
 * `droppedBefore` counts lines printed before these that the writer had to
 * drop without storing them: they take up their sequence numbers (a gap
 * before the batch) and count in the marker, so stored lines plus the
 * marker's count always add up to every line printed.
 */
export async function appendSessionLogs(
  db: Db,
  sessionId: string,
  lines: LogLine[],
  maxLines: number,
  droppedBefore = 0,
): Promise<void> {
  if (lines.length === 0 && droppedBefore === 0) return;
  await inTransaction(db, async (trx) => {
    const { lastSeq } = await trx
      .updateTable('sessions')
      .set({ logLines: sql`log_lines + ${droppedBefore + lines.length}` })
      .where('id', '=', sessionId)
      .returning(sql<string>`log_lines`.as('lastSeq'))
      .executeTakeFirstOrThrow();
    const first = Number(lastSeq) - lines.length + 1;
    for (let offset = 0; offset < lines.length; offset += LOG_INSERT_CHUNK) {
      const chunk = lines.slice(offset, offset + LOG_INSERT_CHUNK);
      await sql`
        INSERT INTO session_logs (session_id, seq, stream, text, at)
        SELECT ${sessionId}::uuid, ${first + offset - 1} + n, stream, text, at
        FROM unnest(${chunk.map((l) => l.stream)}::text[], ${chunk.map((l) => l.text)}::text[],
                    ${chunk.map((l) => l.at.toISOString())}::timestamptz[]) WITH ORDINALITY AS l(stream, text, at, n)`.execute(trx);
    }
    let count = droppedBefore;
    const keepFrom = Number(lastSeq) - maxLines + 1;
    if (keepFrom > 1) {
      const deleted = await trx
        .deleteFrom('sessionLogs')
        .where('sessionId', '=', sessionId)
        .where('seq', '>', '0')
        .where('seq', '<', String(keepFrom))
        .executeTakeFirst();
      count += Number(deleted.numDeletedRows);
    }
    if (count > 0) {
      const { total } = await trx
        .updateTable('sessions')
        .set({ logDropped: sql`log_dropped + ${count}`, logUnwritten: sql`log_unwritten + ${droppedBefore}` })
        .where('id', '=', sessionId)
        .returning(sql<string>`log_dropped`.as('total'))
        .executeTakeFirstOrThrow();
      await sql`
        INSERT INTO session_logs (session_id, seq, stream, text) VALUES (${sessionId}, 0, 'event', ${`[${total} earlier lines dropped]`})
        ON CONFLICT (session_id, seq) DO UPDATE SET text = EXCLUDED.text, at = now()`.execute(trx);
    }
  });
}

/**
 * Lines with `after < seq < before`, oldest first: the first `limit` of them,
 * or with `before` the last `limit` (a page backwards through history).
 */
export async function readSessionLogs(
  db: Db,
  sessionId: string,
  options: { after: number; before?: number; limit: number },
): Promise<{ seq: number; stream: LogStream; text: string; at: Date }[]> {
  let query = db
    .selectFrom('sessionLogs')
    .select(['seq', 'stream', 'text', 'at'])
    .where('sessionId', '=', sessionId)
    .where('seq', '>', String(options.after))
    .orderBy('seq', options.before === undefined ? 'asc' : 'desc')
    .limit(options.limit);
  if (options.before !== undefined) query = query.where('seq', '<', String(options.before));
  const rows = await query.execute();
  if (options.before !== undefined) rows.reverse();
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}
