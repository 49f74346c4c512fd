import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { inTransaction } from './transactions.js';

/**
 * A goal's pinned lane, held in the database: the instance holding it runs the
 * goal's pinned conversation (its CLI state lives on that machine), under a
 * lease its heartbeat renews. A lane whose lease ran out may be taken over by
 * another instance. While a pinned task runs in the lane, merges into the goal
 * branch wait (they would move the branch that task's worktree has checked
 * out); a merge and the start of a pinned run are ordered by one advisory
 * lock per goal.
 */

/** First key of the two-key advisory lock that orders merges and pinned runs of one goal. */
const MERGE_SLOT_LOCK_CLASS = 7_264_103;

export type LaneAcquisition =
  /** `takenOverFrom`: the instance whose expired lease this one took, or null (new, or already this holder's). */
  | { acquired: true; takenOverFrom: string | null }
  | { acquired: false; holder: string };

/** Takes the lane if it is free, expired, or already `holder`'s (then its lease is renewed). */
export async function acquireLane(db: Db, goalId: string, holder: string, leaseMs: number): Promise<LaneAcquisition> {
  return inTransaction(db, async (trx) => {
    // The row, locked, if there is one: who held it is then still true when the upsert below decides.
    const before = await trx.selectFrom('goalLanes').select('holder').where('goalId', '=', goalId).forUpdate().executeTakeFirst();
    // A row inserted meanwhile by another instance is met by ON CONFLICT, and its WHERE refuses a live lease of someone else.
    const taken = await sql<{ holder: string }>`
      INSERT INTO goal_lanes (goal_id, holder, expires_at)
      VALUES (${goalId}, ${holder}, now() + make_interval(secs => ${leaseMs / 1000}))
      ON CONFLICT (goal_id) DO UPDATE SET
        holder = excluded.holder,
        expires_at = excluded.expires_at,
        acquired_at = CASE WHEN goal_lanes.holder = excluded.holder THEN goal_lanes.acquired_at ELSE now() END,
        -- A pinned run of an expired holder is over: it can no longer report.
        running_task_id = CASE WHEN goal_lanes.holder = excluded.holder THEN goal_lanes.running_task_id END
      WHERE goal_lanes.holder = excluded.holder OR goal_lanes.expires_at <= now()
      RETURNING holder`.execute(trx);
    if (taken.rows.length === 0) {
      const current = await trx.selectFrom('goalLanes').select('holder').where('goalId', '=', goalId).executeTakeFirstOrThrow();
      return { acquired: false, holder: current.holder };
    }
    return { acquired: true, takenOverFrom: before && before.holder !== holder ? before.holder : null };
  });
}

/** Renews every lane `holder` holds (its heartbeat); the number renewed. A lane already taken over is not given back. */
export async function renewLanes(db: Db, holder: string, leaseMs: number): Promise<number> {
  const result = await db
    .updateTable('goalLanes')
    .set({ expiresAt: sql`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where('holder', '=', holder)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The lanes `holder` holds of goals that have ended: given up; the number. */
export async function releaseFinishedLanes(db: Db, holder: string): Promise<number> {
  const result = await sql`
    DELETE FROM goal_lanes l USING goals g
    WHERE l.goal_id = g.id AND l.holder = ${holder} AND g.status IN ('succeeded', 'failed', 'cancelled')`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/** Gives the lane up (the goal ended, or the holder stops). Only the holder's own. */
export async function releaseLane(db: Db, goalId: string, holder: string): Promise<boolean> {
  const result = await db.deleteFrom('goalLanes').where('goalId', '=', goalId).where('holder', '=', holder).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function laneHolder(db: Db, goalId: string): Promise<{ holder: string; expired: boolean; runningTaskId: string | null } | null> {
  const row = await db
    .selectFrom('goalLanes')
    .select(['holder', 'runningTaskId', sql<boolean>`expires_at <= now()`.as('expired')])
    .where('goalId', '=', goalId)
    .executeTakeFirst();
  return row ?? null;
}

/**
 * Marks a pinned task as running in the lane, so merges wait until it ends.
 * Taken under the goal's merge lock: a merge in progress finishes first, so
 * the run starts on the branch as merged. False when `holder` does not hold
 * the lane (any more).
 */
export async function beginPinnedRun(db: Db, goalId: string, holder: string, taskId: string): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    await lockMergeSlot(trx, goalId);
    const result = await trx
      .updateTable('goalLanes')
      .set({ runningTaskId: taskId })
      .where('goalId', '=', goalId)
      .where('holder', '=', holder)
      .where(sql<boolean>`expires_at > now()`)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  });
}

/** The pinned run ended: merges may go ahead. */
export async function endPinnedRun(db: Db, goalId: string, holder: string, taskId: string): Promise<void> {
  await db
    .updateTable('goalLanes')
    .set({ runningTaskId: null })
    .where('goalId', '=', goalId)
    .where('holder', '=', holder)
    .where('runningTaskId', '=', taskId)
    .execute();
}

export class MergeSlotTimeout extends Error {
  constructor(goalId: string, waitedMs: number) {
    super(`merging into goal ${goalId}: a pinned task held its lane for more than ${waitedMs} ms`);
    this.name = 'MergeSlotTimeout';
  }
}

export interface MergeSlotOptions {
  /** How often to look again while a pinned run holds the lane. */
  pollMs?: number;
  /** Give up (MergeSlotTimeout) after waiting this long. */
  timeoutMs?: number;
  /** Told each time the merge found a pinned run in the lane and waits (for a task log line). */
  onWait?: (runningTaskId: string) => void;
}

/**
 * Runs `merge` as the only merge of the goal anywhere, once no live pinned
 * run holds the goal's lane, and holds that exclusion until `merge` returns.
 * The lock is transaction-scoped: it goes with the transaction, also when
 * the process dies. Keep `merge` short (it holds a connection).
 */
export async function withMergeSlot<T>(db: Db, goalId: string, merge: (trx: Db) => Promise<T>, options: MergeSlotOptions = {}): Promise<T> {
  const pollMs = options.pollMs ?? 200;
  const started = Date.now();
  for (;;) {
    const outcome = await db.transaction().execute(async (trx) => {
      await lockMergeSlot(trx, goalId);
      const busy = await trx
        .selectFrom('goalLanes')
        .select('runningTaskId')
        .where('goalId', '=', goalId)
        .where('runningTaskId', 'is not', null)
        .where(sql<boolean>`expires_at > now()`)
        .executeTakeFirst();
      if (busy) return { busy: true as const, runningTaskId: busy.runningTaskId ?? '' };
      return { busy: false as const, value: await merge(trx) };
    });
    if (!outcome.busy) return outcome.value;
    options.onWait?.(outcome.runningTaskId);
    if (options.timeoutMs !== undefined && Date.now() - started >= options.timeoutMs) throw new MergeSlotTimeout(goalId, options.timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function lockMergeSlot(trx: Db, goalId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${MERGE_SLOT_LOCK_CLASS}, hashtext(${goalId}))`.execute(trx);
}
