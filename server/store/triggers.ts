import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { TriggerRunsTable, TriggersTable } from '../db/schema.js';

export type TriggerRow = Selectable<TriggersTable>;
export type TriggerRunRow = Selectable<TriggerRunsTable>;

export type NewTrigger = Omit<TriggerRow, 'createdAt'>;

export async function insertTrigger(db: Db, trigger: NewTrigger): Promise<TriggerRow> {
  return db.insertInto('triggers').values(trigger).returningAll().executeTakeFirstOrThrow();
}

export async function listTriggers(db: Db): Promise<TriggerRow[]> {
  return db.selectFrom('triggers').selectAll().orderBy('createdAt').orderBy('id').execute();
}

export async function getTrigger(db: Db, id: string): Promise<TriggerRow | undefined> {
  return db.selectFrom('triggers').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function deleteTrigger(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('triggers').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function listScheduleTriggers(db: Db): Promise<TriggerRow[]> {
  return db.selectFrom('triggers').selectAll().where('kind', '=', 'schedule').execute();
}

export async function listGithubTriggers(db: Db, event: string): Promise<TriggerRow[]> {
  return db.selectFrom('triggers').selectAll().where('kind', '=', 'github').where('event', '=', event).execute();
}

/**
 * Claims one start of a trigger. Two claimers of the same slot: the second
 * waits on the first's uncommitted row and gets false once it commits.
 */
export async function claimTriggerRun(db: Db, triggerId: string, slot: string): Promise<boolean> {
  const row = await db
    .insertInto('triggerRuns')
    .values({ triggerId, slot })
    .onConflict((oc) => oc.columns(['triggerId', 'slot']).doNothing())
    .returning('slot')
    .executeTakeFirst();
  return row !== undefined;
}

export async function recordTriggerRun(db: Db, triggerId: string, slot: string, outcome: { goalId: string } | { error: string }): Promise<void> {
  await db
    .updateTable('triggerRuns')
    .set('goalId' in outcome ? { goalId: outcome.goalId } : { error: outcome.error })
    .where('triggerId', '=', triggerId)
    .where('slot', '=', slot)
    .execute();
}

export async function getTriggerRun(db: Db, triggerId: string, slot: string): Promise<TriggerRunRow | undefined> {
  return db.selectFrom('triggerRuns').selectAll().where('triggerId', '=', triggerId).where('slot', '=', slot).executeTakeFirst();
}

/** The newest start of each trigger given. */
export async function latestTriggerRuns(db: Db, triggerIds: string[]): Promise<Map<string, TriggerRunRow>> {
  if (triggerIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('triggerRuns')
    .selectAll()
    .distinctOn('triggerId')
    .where('triggerId', 'in', triggerIds)
    .orderBy('triggerId')
    .orderBy('createdAt', 'desc')
    .execute();
  return new Map(rows.map((row) => [row.triggerId, row]));
}
