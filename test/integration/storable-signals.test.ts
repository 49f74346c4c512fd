import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveSignal } from '../../server/signals/resolver.js';
import { activateReadyTasks } from '../../server/store/dispatch.js';
import { getSignal } from '../../server/store/signals.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal } from '../support/orchestration.js';

/**
 * Every signal goes through the resolver, webhooks included, and a webhook
 * cannot be told to send its payload again without the odd byte: what
 * Postgres cannot store is replaced there, and the signal still decides gates.
 */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.destroy());

it('stores a signal whose text holds NUL and lone surrogates, and lets it decide its gate', async () => {
  const { tasks } = await createGoal(database.db, [
    { key: 'gate', title: 'Review', kind: 'wait_for_signal', gate: { type: 'gh_review', repo: 'acme/text', pr: 7 } },
  ]);
  await activateReadyTasks(database.db);

  const result = await resolveSignal(database.db, {
    type: 'gh_review',
    attributes: { repo: 'acme/text', pr: 7, reviewer: 'bot\u0000' },
    status: 'pass',
    summary: 'looks good\u0000 \ud800 😀',
    artifacts: { 'body\u0000': ['line\u0000', { half: '\udc00' }], html_url: 'https://github.com/acme/text/pull/7' },
    idempotencyKey: 'delivery-1\u0000',
    source: 'github',
  });

  expect(result).toMatchObject({ matched: [tasks[0]!.id], duplicate: false });
  const stored = await getSignal(database.db, result.signalId);
  expect(stored).toMatchObject({
    summary: 'looks good\uFFFD \uFFFD 😀',
    attributes: { repo: 'acme/text', pr: 7, reviewer: 'bot\uFFFD' },
    artifacts: { 'body\uFFFD': ['line\uFFFD', { half: '\uFFFD' }], html_url: 'https://github.com/acme/text/pull/7' },
    idempotencyKey: 'delivery-1\uFFFD',
  });
  const gate = await database.db.selectFrom('tasks').select('status').where('id', '=', tasks[0]!.id).executeTakeFirstOrThrow();
  expect(gate.status).toBe('succeeded');

  // The same delivery again is the same key: applied once.
  const again = await resolveSignal(database.db, {
    type: 'gh_review',
    attributes: { repo: 'acme/text', pr: 7 },
    status: 'fail',
    idempotencyKey: 'delivery-1\u0000',
    source: 'github',
  });
  expect(again).toMatchObject({ signalId: result.signalId, duplicate: true });
});
