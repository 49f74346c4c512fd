import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseNotificationTargets } from '../../server/domain/notifications.js';
import { createLogger } from '../../server/logger.js';
import { Notifier } from '../../server/notifications/notifier.js';
import { appendEvents } from '../../server/store/events.js';
import { listDeliveries } from '../../server/store/notifications.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startNotificationReceiver, type NotificationReceiver } from '../support/notification-receiver.js';
import { createGoal, waitFor } from '../support/orchestration.js';

/**
 * Several notifiers on one database (as several instances run them): each
 * event is recorded once per target and delivered once, whichever notifier
 * reads or sends it; a target answering 4xx is not retried.
 */

let database: TestDatabase;
let receiver: NotificationReceiver;

beforeAll(async () => {
  database = await createTestDatabase();
  receiver = await startNotificationReceiver((path) => (path === '/gone' ? 410 : 200));
});

afterAll(async () => {
  await receiver?.close();
  await database?.destroy();
});

it('shares the work between instances without sending anything twice', { timeout: 60_000 }, async () => {
  const { targets } = parseNotificationTargets(`${receiver.url}/json,${receiver.url}/gone`);
  const notifiers = [1, 2, 3].map(
    () =>
      new Notifier(
        { db: database.db, logger: createLogger('silent'), publicUrl: () => 'http://arbor.test' },
        { targets, timeoutMs: 5_000, maxAttempts: 5, backoff: { baseMs: 10, maxMs: 100 }, pollMs: 20 },
      ),
  );
  // Their first passes place the cursor; what comes after is news.
  await Promise.all(notifiers.map((n) => n.pass()));
  for (const n of notifiers) n.start();
  try {
    const goals = [];
    for (let i = 0; i < 20; i++) goals.push((await createGoal(database.db, [{ key: 'a', title: 'A' }], { title: `goal ${i}` })).goal);
    // Written in a few transactions, while the notifiers run.
    for (let i = 0; i < goals.length; i += 5) {
      await appendEvents(
        database.db,
        goals.slice(i, i + 5).map((g) => ({ type: 'goal.status_changed' as const, goalId: g.id, data: { from: 'running', to: 'succeeded' } })),
      );
    }
    const rows = await waitFor('every delivery settled', async () => {
      const all = await listDeliveries(database.db);
      return all.length === 40 && all.every((r) => r.status !== 'pending') && all;
    });
    const sent = receiver.receipts.filter((r) => r.path === '/json').map((r) => r.body.event_id);
    expect(sent).toHaveLength(20);
    expect(new Set(sent).size).toBe(20);
    // 410 Gone: given up at the first answer.
    const gone = rows.filter((r) => r.status === 'failed');
    expect(gone).toHaveLength(20);
    expect(gone.every((r) => r.attempts === 1 && r.lastStatus === 410)).toBe(true);
    expect(receiver.receipts.filter((r) => r.path === '/gone')).toHaveLength(20);
  } finally {
    await Promise.all(notifiers.map((n) => n.stop()));
  }
});
