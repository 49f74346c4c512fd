import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { EventType } from '../domain/event-types.js';
import { chunks } from './batches.js';

/**
 * The append-only event log: every state change writes here in the same
 * transaction, and one NOTIFY per transaction tells listeners (the
 * orchestrator, SSE streams) that something happened. Postgres delivers a
 * NOTIFY only when its transaction commits, so a listener never hears of a
 * change it cannot yet see; the payload is the newest event id, a hint to
 * read from, never the data itself.
 */

export const EVENTS_CHANNEL = 'arbor_events';

export interface NewEvent {
  type: EventType;
  goalId: string | null;
  taskId?: string | null;
  sessionId?: string | null;
  signalId?: string | null;
  data?: Record<string, unknown>;
}

export async function appendEvents(trx: Db, events: NewEvent[]): Promise<void> {
  for (const chunk of chunks(events, 5000)) {
    const rows = chunk.map((e) => ({
      type: e.type,
      goalId: e.goalId,
      taskId: e.taskId ?? null,
      sessionId: e.sessionId ?? null,
      signalId: e.signalId ?? null,
      data: e.data ?? {},
    }));
    // Insert and notify in one statement: one round trip per batch of events.
    await trx
      .with('inserted', (db) => db.insertInto('events').values(rows).returning('id'))
      .selectFrom('inserted')
      .select(sql`pg_notify(${EVENTS_CHANNEL}, max(id)::text)`.as('notified'))
      .execute();
  }
}
