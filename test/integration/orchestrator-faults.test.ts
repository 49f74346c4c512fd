import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { TaskOrchestrator } from '../../server/orchestrator/task-orchestrator.js';
import { registerInstance } from '../../server/store/instances.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal, createOrchestrator, statuses, waitFor, waitForGoal } from '../support/orchestration.js';
import { ScriptedRunner } from '../support/scripted-runner.js';

/**
 * What the orchestrator does when the database refuses an outcome, and when
 * another instance on this host has died holding tasks.
 */

let database: TestDatabase;
const orchestrators: TaskOrchestrator[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(orchestrators.splice(0).map((o) => o.stop()));
});
afterAll(() => database.destroy());

it('an outcome the database cannot store fails its own task and holds back nothing else', async () => {
  // Postgres refuses NUL in jsonb text (22P05): the whole batch of completions would fail with it.
  const runner = new ScriptedRunner((a) =>
    a.task.key === 'poison' ? { outcome: { kind: 'succeeded', result: { summary: 'half\u0000way' } } } : { delayMs: 5 },
  );
  const poisoned = await createGoal(database.db, [{ key: 'poison', title: 'Poison', max_attempts: 1 }, { key: 'next', title: 'Next' }]);
  const healthy = await createGoal(database.db, [{ key: 'a', title: 'A' }, { key: 'b', title: 'B' }], { childrenMode: 'parallel' });
  const orchestrator = createOrchestrator(database.db, runner);
  orchestrators.push(orchestrator);
  await orchestrator.start();

  await waitForGoal(database.db, healthy.goal.id, 'succeeded');
  await waitForGoal(database.db, poisoned.goal.id, 'failed');
  expect(await statuses(database.db, poisoned.goal.id)).toEqual({ poison: 'failed', next: 'skipped' });
  const poison = await database.db.selectFrom('tasks').select(['error', 'result']).where('id', '=', poisoned.tasks[0]!.id).executeTakeFirstOrThrow();
  expect(poison.error).toMatch(/^its succeeded outcome could not be recorded: .*Unicode/);
  expect(poison.result).toBeNull();
});

it('takes back at once the tasks of a dead instance on this host, and only its own', async () => {
  const runner = new ScriptedRunner(() => ({}));
  const { goal, tasks } = await createGoal(database.db, [{ key: 'orphaned', title: 'Orphaned' }, { key: 'alive', title: 'Alive' }], {
    childrenMode: 'parallel',
  });
  const [orphaned, alive] = tasks;
  // Two instances on this host: one whose process is gone (pid 2^22 + 1 is above Linux's pid_max), one alive (this process).
  await registerInstance(database.db, { id: 'dead-one', host: 'test-host', pid: 4_194_305, pidStartedAt: '1' });
  await registerInstance(database.db, { id: 'live-one', host: 'test-host', pid: process.pid, pidStartedAt: null });
  const leaseFor = (owner: string, id: string) =>
    database.db
      .updateTable('tasks')
      .set({ status: 'running', attempt: 1, leaseOwner: owner, leaseExpiresAt: new Date(Date.now() + 3_600_000) })
      .where('id', '=', id)
      .execute();
  await leaseFor('dead-one', orphaned!.id);
  await leaseFor('live-one', alive!.id);

  const orchestrator = createOrchestrator(database.db, runner, { host: 'test-host' });
  orchestrators.push(orchestrator);
  await orchestrator.start();

  // The dead instance's task runs again, long before its hour-long lease would run out.
  await waitForGoal(database.db, goal.id, 'running');
  await waitFor('the orphaned task to run again', () => runner.runsOf('orphaned').length > 0);
  expect(runner.runsOf('orphaned')[0]!.attempt).toBe(2);
  // The live instance's task is left alone, and so is its registration.
  expect(runner.runsOf('alive')).toHaveLength(0);
  const instances = await database.db.selectFrom('instances').select('id').where('host', '=', 'test-host').orderBy('id').execute();
  expect(instances.map((i) => i.id)).toEqual(['live-one', orchestrator.instanceId].sort());
});

it('forgets at start an instance, on any host, not heard from for a day', async () => {
  await registerInstance(database.db, { id: 'long-gone', host: 'elsewhere', pid: 123, pidStartedAt: '1' });
  await registerInstance(database.db, { id: 'recent', host: 'elsewhere', pid: 124, pidStartedAt: '1' });
  await database.db.updateTable('instances').set({ heartbeatAt: new Date(Date.now() - 25 * 3600 * 1000) }).where('id', '=', 'long-gone').execute();
  const orchestrator = createOrchestrator(database.db, new ScriptedRunner());
  orchestrators.push(orchestrator);
  await orchestrator.start();
  const left = await database.db.selectFrom('instances').select('id').where('host', '=', 'elsewhere').execute();
  expect(left.map((i) => i.id)).toEqual(['recent']);
});
