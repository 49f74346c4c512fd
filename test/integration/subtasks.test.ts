import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { TaskOutcome } from '../../server/domain/task-rules.js';
import { listenHttp, type HttpListener } from '../../server/http/listener.js';
import type { TaskOrchestrator } from '../../server/orchestrator/task-orchestrator.js';
import { listGoalTasks } from '../../server/store/tasks.js';
import { testApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { connectMcp, openRun, toolText } from '../support/mcp.js';
import { byKey, createGoal, createOrchestrator, statuses, waitFor, waitForGoal } from '../support/orchestration.js';
import { ScriptedRunner, type RunRecord } from '../support/scripted-runner.js';

/**
 * Subtasks an agent adds through `arbor_add_subtasks`, run by the real
 * orchestrator: they start only after the run that added them succeeds, the
 * task then finishes with them, and what depends on the task waits for them.
 */

let database: TestDatabase;
let listener: HttpListener;
const orchestrators: TaskOrchestrator[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  listener = await listenHttp(testApp(database.db).fetch, '127.0.0.1', 0);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(orchestrators.splice(0).map((o) => o.stop()));
});
afterAll(async () => {
  await listener.close(1_000);
  await database.destroy();
});

/** Tasks whose key starts with `hold` wait for the test; `fail-` ones fail for good; the rest succeed. */
async function start() {
  const runner = new ScriptedRunner((a) =>
    a.task.key.startsWith('hold') ? { hold: true } : a.task.key.startsWith('fail-') ? { outcome: { kind: 'failed', error: 'tests are red', permanent: true } } : {},
  );
  const orchestrator = createOrchestrator(database.db, runner);
  orchestrators.push(orchestrator);
  await orchestrator.start();
  return runner;
}

/** The agent of the held run of `key` adds `tasks` through MCP, then its run ends (session first, as the runner does it). */
async function addThenFinish(runner: ScriptedRunner, goalId: string, key: string, args: Record<string, unknown>, outcome: TaskOutcome) {
  const held = await waitFor(`${key} to run`, () => runner.runsOf(key).find((r) => r.endedAt === undefined));
  const run = await openRun(database.db, { id: held.taskId, goalId, attempt: held.attempt });
  const client = await connectMcp(listener.url, run.token);
  clients.push(client);
  const answer = toolText(await client.callTool({ name: 'arbor_add_subtasks', arguments: args }));
  await database.db.updateTable('sessions').set({ status: 'ended', tokenHash: null }).where('id', '=', run.sessionId).execute();
  runner.release(held.taskId, outcome);
  return answer;
}

const after = (later: RunRecord, earlier: RunRecord) => expect(later.startedAt).toBeGreaterThanOrEqual(earlier.endedAt!);

it('runs the subtasks after the run that added them, and the task and its dependents after them', async () => {
  const runner = await start();
  const { goal } = await createGoal(database.db, [
    { key: 'hold-plan', title: 'Plan and split' },
    { key: 'ship', title: 'Ship', depends_on: ['hold-plan'] },
  ]);
  const answer = await addThenFinish(
    runner,
    goal.id,
    'hold-plan',
    { tasks: ['one', 'two', 'three'].map((k) => ({ key: `part-${k}`, title: `Part ${k}` })) },
    { kind: 'succeeded', result: { summary: 'split in three' } },
  );
  expect(answer.isError, answer.text).toBe(false);
  await waitForGoal(database.db, goal.id, 'succeeded');

  const [plan, one, two, three, ship] = ['hold-plan', 'part-one', 'part-two', 'part-three', 'ship'].map((k) => runner.runsOf(k));
  for (const runs of [plan, one, two, three, ship]) expect(runs).toHaveLength(1);
  after(one![0]!, plan![0]!);
  after(two![0]!, one![0]!);
  after(three![0]!, two![0]!);
  after(ship![0]!, three![0]!);
  const tasks = byKey(await listGoalTasks(database.db, goal.id));
  expect(tasks['hold-plan']).toMatchObject({ status: 'succeeded', kind: 'group', result: { summary: 'split in three' } });
});

it('fails the task when a subtask fails, and skips what depends on it', async () => {
  const runner = await start();
  const { goal } = await createGoal(database.db, [
    { key: 'hold-split', title: 'Split' },
    { key: 'deploy', title: 'Deploy', depends_on: ['hold-split'] },
  ]);
  await addThenFinish(
    runner,
    goal.id,
    'hold-split',
    { tasks: [{ key: 'fine', title: 'Fine' }, { key: 'fail-broken', title: 'Broken', max_attempts: 1 }], children_mode: 'parallel' },
    { kind: 'succeeded' },
  );
  await waitForGoal(database.db, goal.id, 'failed');
  await waitFor('the sibling to finish', async () => (await statuses(database.db, goal.id)).fine === 'succeeded');
  expect(await statuses(database.db, goal.id)).toEqual({ 'hold-split': 'failed', deploy: 'skipped', fine: 'succeeded', 'fail-broken': 'failed' });
  expect(runner.runsOf('deploy')).toHaveLength(0);
});

it('keeps subtasks held while the run that added them is retried, and runs them once a run succeeds', async () => {
  const runner = await start();
  const { goal } = await createGoal(database.db, [{ key: 'hold-retry', title: 'Try', max_attempts: 3 }]);
  await addThenFinish(runner, goal.id, 'hold-retry', { tasks: [{ key: 'later', title: 'Later' }] }, { kind: 'failed', error: 'crashed' });
  const second = await waitFor('the second attempt', () => runner.runsOf('hold-retry').find((r) => r.endedAt === undefined));
  expect(runner.runsOf('later')).toHaveLength(0);
  runner.release(second.taskId, { kind: 'succeeded' });
  await waitForGoal(database.db, goal.id, 'succeeded');
  expect(runner.runsOf('later')).toHaveLength(1);
  after(runner.runsOf('later')[0]!, runner.runsOf('hold-retry')[1]!);
});
