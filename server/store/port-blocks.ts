import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/**
 * Port blocks for sessions, unique per host across every instance on it: a
 * row per (host, slot) taken. A slot is free when no row holds it, or when
 * the row's owner is no longer a registered instance (it died, and its
 * registration was removed when its work was taken over): such a block is
 * handed out again.
 */

export interface PortBlockSettings {
  /** First port of slot 0. */
  base: number;
  perSession: number;
}

export interface PortBlock {
  slot: number;
  /** First port of the block. */
  base: number;
  count: number;
}

/** How many whole blocks fit between `base` and port 65535. */
export function portSlotCount(settings: PortBlockSettings): number {
  return Math.max(0, Math.floor((65536 - settings.base) / settings.perSession));
}

/**
 * Takes the lowest free slot on `host` for `owner` (a registered instance's
 * id: an unregistered owner's block counts as free at once); null
 * when every slot is held by a live owner. Two instances racing for one slot
 * meet on the primary key: one gets it, the other tries the next.
 */
export async function takePortBlock(
  db: Db,
  settings: PortBlockSettings,
  holder: { host: string; owner: string; sessionId?: string | null },
): Promise<PortBlock | null> {
  const slots = portSlotCount(settings);
  for (let tries = 0; tries < 16; tries++) {
    const result = await sql<{ slot: number }>`
      WITH candidate AS (
        SELECT s AS slot FROM generate_series(0, ${slots - 1}::int) s
        WHERE NOT EXISTS (
          SELECT 1 FROM port_blocks b
          WHERE b.host = ${holder.host} AND b.slot = s
            AND EXISTS (SELECT 1 FROM instances i WHERE i.id = b.owner))
        ORDER BY s
        LIMIT 1)
      INSERT INTO port_blocks (host, slot, owner, session_id)
      SELECT ${holder.host}, slot, ${holder.owner}, ${holder.sessionId ?? null} FROM candidate
      ON CONFLICT (host, slot) DO UPDATE SET owner = excluded.owner, session_id = excluded.session_id, taken_at = now()
        -- Only a dead owner's block changes hands; a live one's stays (the race was lost: try again).
        WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = port_blocks.owner)
      RETURNING slot`.execute(db);
    const row = result.rows[0];
    if (row) return { slot: row.slot, base: settings.base + row.slot * settings.perSession, count: settings.perSession };
    // No candidate at all: every slot is held by a live owner.
    const free = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM port_blocks b
      WHERE b.host = ${holder.host} AND EXISTS (SELECT 1 FROM instances i WHERE i.id = b.owner)`.execute(db);
    if ((free.rows[0]?.n ?? 0) >= slots) return null;
  }
  return null;
}

/** The session ended: its block is free. Only the owner's own. */
export async function releasePortBlock(db: Db, block: { host: string; slot: number; owner: string }): Promise<void> {
  await db.deleteFrom('portBlocks').where('host', '=', block.host).where('slot', '=', block.slot).where('owner', '=', block.owner).execute();
}

/** Every block `owner` holds (an instance starting again under its id: its old sessions are gone); the number freed. */
export async function releasePortBlocksOf(db: Db, owner: string): Promise<number> {
  const result = await db.deleteFrom('portBlocks').where('owner', '=', owner).executeTakeFirst();
  return Number(result.numDeletedRows);
}
