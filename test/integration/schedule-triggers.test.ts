import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDatabase, type DbHandle } from '../../server/db/database.js';
import { createLogger } from '../../server/logger.js';
import { insertTemplate } from '../../server/store/templates.js';
import { TriggerScheduler } from '../../server/triggers/trigger-scheduler.js';
import type { TriggerStart } from '../../server/triggers/trigger-start.js';
import { call, testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { goalsStartedBy } from '../support/triggers.js';

/**
 * Two Arbor instances, each with its own connection pool and its own
 * scheduler, on one database and one (injected) clock: every slot of a cron
 * trigger starts exactly one goal, whichever instance claims it.
 */

let database: TestDatabase;
let second: DbHandle;

beforeAll(async () => {
  database = await createTestDatabase();
  second = connectDatabase(database.url, { poolSize: 5, logger: createLogger('silent') });
  await insertTemplate(database.db, {
    name: 'nightly',
    description: 'Nightly dependency bump',
    parameters: { repo: { type: 'string', example: '/srv/repos/web' }, day: { type: 'string', default: 'any' } },
    body: { title: 'Bump dependencies ({{day}})', repo: '{{repo}}', tasks: [{ key: 'bump', title: 'Bump', instructions: 'npm update in {{repo}}' }] },
  });
});
afterAll(async () => {
  await second.close();
  await database.destroy();
});

const rules = testConfig().goals;

function scheduler(db: DbHandle['db'], clock: { now: Date }) {
  return new TriggerScheduler({ db, rules, logger: createLogger('silent') }, { intervalMs: 60_000, now: () => clock.now });
}

const goalsOf = (triggerId: string) => goalsStartedBy(database.db, triggerId);

it('starts exactly one goal per slot across two instances', async () => {
  const app = testApp(database.db);
  const created = await call(app, 'POST', '/api/triggers', {
    template: 'nightly',
    params: { repo: '/srv/repos/web' },
    schedule: { cron: '0 2 * * *', time_zone: 'Europe/Berlin' },
  });
  expect(created.status, created.text).toBe(201);
  const triggerId: string = created.json.trigger.id;

  // Each instance has its own clock object, both reading the same instant.
  const clockA = { now: new Date('2031-01-10T00:30:00Z') };
  const clockB = { now: new Date('2031-01-10T00:30:00Z') };
  const a = scheduler(database.db, clockA);
  const b = scheduler(second.db, clockB);

  const seen: TriggerStart[] = [];
  for (let day = 10; day < 15; day++) {
    // 02:00 in Berlin is 01:00 UTC in winter; both instances tick just after it, at once.
    const instant = new Date(`2031-01-${day}T01:00:05Z`);
    clockA.now = instant;
    clockB.now = instant;
    const [fromA, fromB] = await Promise.all([a.tick(), b.tick()]);
    const starts = [...fromA, ...fromB];
    expect(starts.map((s) => s.outcome).sort(), `day ${day}`).toEqual(['already', 'started']);
    expect(new Set(starts.map((s) => s.slot))).toEqual(new Set([`2031-01-${day}T01:00:00.000Z`]));
    const started = starts.find((s) => s.outcome === 'started')!;
    expect(starts.find((s) => s.outcome === 'already')).toMatchObject({ goalId: (started as { goalId: string }).goalId });
    seen.push(...starts);

    // Later ticks in the same slot, and a third instance that never saw it, start nothing new.
    clockA.now = new Date(`2031-01-${day}T01:30:00Z`);
    expect(await a.tick()).toEqual([]);
    const late = await scheduler(second.db, { now: clockA.now }).tick();
    expect(late.map((s) => s.outcome)).toEqual(['already']);
  }

  const goals = await goalsOf(triggerId);
  expect(goals).toHaveLength(5);
  expect(goals[0]!.title).toBe('Bump dependencies (any)');
  expect(new Set(goals.map((g) => (g.metadata as { trigger: { slot: string } }).trigger.slot)).size).toBe(5);

  const listed = await call(app, 'GET', '/api/triggers');
  const mine = listed.json.triggers.find((t: { id: string }) => t.id === triggerId);
  expect(mine.last_run).toMatchObject({ slot: '2031-01-14T01:00:00.000Z', error: null });
  expect(goals.map((g) => g.id)).toContain(mine.last_run.goal_id);
});

it('after downtime starts only the latest missed slot, and none before the trigger existed', async () => {
  const app = testApp(database.db);
  const created = await call(app, 'POST', '/api/triggers', { template: 'nightly', params: { repo: '/srv/repos/api' }, schedule: { cron: '0 * * * *' } });
  expect(created.status, created.text).toBe(201);
  const triggerId: string = created.json.trigger.id;
  const clock = { now: new Date(Date.parse(created.json.trigger.created_at) + 1_000) };
  const instance = scheduler(database.db, clock);
  // Created mid-hour: the hour's slot before its creation is not its own.
  if (new Date(clock.now).getUTCMinutes() !== 0) expect((await instance.tick()).filter((s) => s.triggerId === triggerId)).toEqual([]);

  clock.now = new Date(Date.parse(created.json.trigger.created_at) + 10 * 3_600_000);
  const starts = (await instance.tick()).filter((s) => s.triggerId === triggerId);
  expect(starts).toHaveLength(1);
  expect(await goalsOf(triggerId)).toHaveLength(1);
});
