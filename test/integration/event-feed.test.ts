import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationListener } from '../../server/db/notification-listener.js';
import { EventFeed, eventFrame } from '../../server/http/events/events.feed.js';
import { createLogger } from '../../server/logger.js';
import { readEvents } from '../../server/store/event-log.js';
import { EVENTS_CHANNEL, appendEvents } from '../../server/store/events.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal, waitFor } from '../support/orchestration.js';

/**
 * The feed reads each horizon move once and keeps the frames for every live
 * stream: what a stream takes from it must be exactly what it would have
 * read from the table itself, for all goals or one, and nothing outside the
 * range the feed has read.
 */

let database: TestDatabase;
let notifications: NotificationListener;

beforeAll(async () => {
  database = await createTestDatabase();
  notifications = new NotificationListener(database.url, EVENTS_CHANNEL, createLogger('silent'));
  await notifications.start();
});
afterAll(async () => {
  await notifications.stop();
  await database.destroy();
});

async function framesFromTable(after: bigint, upTo: bigint, goalId?: string): Promise<string[]> {
  const rows = await readEvents(database.db, { after: String(after), upTo: String(upTo), goalId, limit: 10_000 });
  return rows.map(eventFrame);
}

describe('the event feed shares its frames', () => {
  it('gives live streams the same frames as the table, per goal too, and none it has not read', async () => {
    const feed = new EventFeed(database.db, createLogger('silent'), notifications);
    const horizons: bigint[] = [];
    const unsubscribe = feed.subscribe((h) => horizons.push(h));
    try {
      const a = await createGoal(database.db, [{ key: 'a', title: 'A' }]);
      const b = await createGoal(database.db, [{ key: 'b', title: 'B' }]);
      // The first move starts the window; what follows it is in the window.
      await waitFor('the feed following', () => (horizons.length > 0 ? true : undefined));
      const start = horizons[0]!;
      for (let i = 0; i < 5; i++) {
        await appendEvents(database.db, [
          { type: 'goal.status_changed', goalId: a.goal.id, data: { to: 'running', i } },
          { type: 'goal.status_changed', goalId: b.goal.id, data: { to: 'running', i } },
        ]);
      }
      const max = await database.db.selectFrom('events').select(({ fn }) => fn.max('id').as('newest')).execute();
      const newest = BigInt(max[0]!.newest);
      await waitFor('the feed at the newest event', () => (horizons.at(-1)! >= newest ? true : undefined));

      const all = feed.framesBetween(start, newest);
      expect(all).toEqual(await framesFromTable(start, newest));
      expect(all!.length).toBeGreaterThanOrEqual(10);
      expect(feed.framesBetween(start, newest, a.goal.id)).toEqual(await framesFromTable(start, newest, a.goal.id));
      expect(feed.framesBetween(start + 3n, newest - 2n)).toEqual(await framesFromTable(start + 3n, newest - 2n));
      // Before the window and past what was read: the stream must read the table.
      expect(feed.framesBetween(start - 1n, newest)).toBeNull();
      expect(feed.framesBetween(start, newest + 1n)).toBeNull();
    } finally {
      unsubscribe();
    }
    // Nobody follows: no window is kept.
    expect(feed.framesBetween(0n, 0n)).toBeNull();
  });
});
