import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { InstancesTable } from '../db/schema.js';

/**
 * The Arbor processes that run (or ran) against this database. Each records
 * its host, pid and kernel start time when it starts and heartbeats while it
 * runs; a clean stop removes the row. A row left behind names an instance that
 * died: on its own host that is known at once (the pid no longer runs), on
 * other hosts once its heartbeat is older than a lease.
 */

export type Instance = Selectable<InstancesTable>;

export async function registerInstance(db: Db, instance: { id: string; host: string; pid: number; pidStartedAt: string | null }): Promise<void> {
  // A restart under the same id (ARBOR_INSTANCE_ID) replaces the dead process's row.
  await db
    .insertInto('instances')
    .values(instance)
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        host: instance.host,
        pid: instance.pid,
        pidStartedAt: instance.pidStartedAt,
        startedAt: sql`now()`,
        heartbeatAt: sql`now()`,
      }),
    )
    .execute();
}

/** False when the row is gone (another instance took it for a dead one's): the caller registers again. */
export async function heartbeatInstance(db: Db, id: string): Promise<boolean> {
  const result = await db.updateTable('instances').set({ heartbeatAt: sql`now()` }).where('id', '=', id).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** The other instances registered on `host`, for a liveness check by pid. */
export async function otherInstancesOnHost(db: Db, host: string, self: string): Promise<Instance[]> {
  return db.selectFrom('instances').selectAll().where('host', '=', host).where('id', '<>', self).execute();
}

/**
 * Forgets instances whose work has been taken over, or that stopped cleanly.
 * Only the very rows given (same pid): an instance that restarted under the
 * same id meanwhile keeps its new registration.
 */
export async function removeInstances(db: Db, instances: readonly Pick<Instance, 'id' | 'pid'>[]): Promise<void> {
  for (const instance of instances) {
    await db.deleteFrom('instances').where('id', '=', instance.id).where('pid', '=', instance.pid).execute();
  }
}

/**
 * Forgets instances, on any host, silent for longer than `staleMs`: a dead
 * instance on another host is never found by pid, and its row would
 * otherwise stay for good. (Its tasks went on through their leases long ago.)
 */
export async function removeSilentInstances(db: Db, staleMs: number): Promise<number> {
  const result = await db
    .deleteFrom('instances')
    .where('heartbeatAt', '<', sql<Date>`now() - make_interval(secs => ${staleMs / 1000})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
