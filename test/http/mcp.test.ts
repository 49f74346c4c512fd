import { randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listenHttp, type HttpListener } from '../../server/http/listener.js';
import { readReportedPullRequest } from '../../server/store/pull-requests.js';
import { listGoalTasks } from '../../server/store/tasks.js';
import { testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { connectMcp, openRun, toolText } from '../support/mcp.js';
import { byKey, createGoal } from '../support/orchestration.js';

/**
 * Arbor's MCP server, driven by the SDK's own client over real HTTP against
 * the real app and database: every tool, who may call it, and bad input.
 */

const API_TOKEN = 'a'.repeat(32);
let database: TestDatabase;
let listener: HttpListener;
const clients: Client[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const app = testApp(database.db, testConfig({ auth: { apiToken: API_TOKEN, signalToken: 's'.repeat(32) }, goals: { maxTasksPerGoal: 12 } }));
  listener = await listenHttp(app.fetch, '127.0.0.1', 0);
});
afterAll(async () => {
  await listener.close(1_000);
  await database.destroy();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const db = () => database.db;

/** A goal whose task `work` is running (its dependency `prep` done), with a live run and a connected client. */
async function runningTask(extra: { requires_approval?: boolean } = {}) {
  const { goal, tasks } = await createGoal(db(), [
    { key: `prep-${randomUUID()}`, title: 'Prepare' },
    { key: `work-${randomUUID()}`, title: 'Do the work', instructions: 'Build it', acceptance: 'It works', ...extra },
  ]);
  const [prep, work] = tasks;
  await db().updateTable('tasks').set({ status: 'succeeded', result: { summary: 'prepared the ground' } }).where('id', '=', prep!.id).execute();
  await db()
    .updateTable('tasks')
    .set({ status: 'running', attempt: 1, unmetDeps: 0, leaseOwner: 'test', leaseExpiresAt: new Date(Date.now() + 600_000) })
    .where('id', '=', work!.id)
    .execute();
  const run = await openRun(db(), { id: work!.id, goalId: goal.id, attempt: 1 });
  const client = await connectMcp(listener.url, run.token);
  clients.push(client);
  return { goal, prep: prep!, work: work!, run, client };
}

const reported = async (sessionId: string) =>
  (await db().selectFrom('sessions').select('reported').where('id', '=', sessionId).executeTakeFirstOrThrow()).reported;

const post = (body: unknown, headers: Record<string, string>) =>
  fetch(new URL('/mcp', listener.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

describe('tools', () => {
  it('offers the five Arbor tools under the server name arbor', async () => {
    const { client } = await runningTask();
    expect(client.getServerVersion()?.name).toBe('arbor');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['arbor_add_subtasks', 'arbor_block', 'arbor_complete', 'arbor_report_pull_request', 'arbor_task_context'].sort(),
    );
    for (const tool of tools) expect(tool.description!.length).toBeGreaterThan(40);
  });

  it('arbor_complete and arbor_block record the report of the caller\'s own run, as the REST calls do', async () => {
    const { client, run } = await runningTask();
    const done = toolText(await client.callTool({ name: 'arbor_complete', arguments: { summary: 'built it', artifacts: { files: ['a.ts'] } } }));
    expect(done.isError).toBe(false);
    expect(await reported(run.sessionId)).toEqual({ kind: 'complete', summary: 'built it', artifacts: { files: ['a.ts'] } });
    const blocked = toolText(await client.callTool({ name: 'arbor_block', arguments: { reason: 'needs a key to the staging database' } }));
    expect(blocked.isError).toBe(false);
    expect(await reported(run.sessionId)).toEqual({ kind: 'block', reason: 'needs a key to the staging database' });
  });

  it('arbor_task_context tells the task, its goal, its parent and what its dependencies reported', async () => {
    const { client, goal, work, prep } = await runningTask();
    const context = JSON.parse(toolText(await client.callTool({ name: 'arbor_task_context', arguments: {} })).text);
    expect(context.task).toMatchObject({ key: work.key, title: 'Do the work', instructions: 'Build it', acceptance: 'It works', attempt: 1, previous_error: null });
    expect(context.goal).toEqual({ title: goal.title, description: '', branch: null });
    expect(context.parent).toBeNull();
    expect(context.dependencies).toEqual([{ key: prep.key, title: 'Prepare', summary: 'prepared the ground' }]);
    expect(context.subtasks).toEqual([]);
  });

  it('arbor_report_pull_request keeps the pull request for the run and records an event', async () => {
    const { client, run, work } = await runningTask();
    const answer = toolText(
      await client.callTool({ name: 'arbor_report_pull_request', arguments: { url: 'https://github.com/acme/web/pull/42', head_sha: 'ABCDEF1234567' } }),
    );
    expect(answer.isError).toBe(false);
    const expected = { url: 'https://github.com/acme/web/pull/42', head_sha: 'abcdef1234567', repo: 'acme/web', number: 42 };
    expect(await readReportedPullRequest(db(), run.sessionId)).toEqual(expected);
    const events = await db().selectFrom('events').select(['type', 'data']).where('taskId', '=', work.id).where('type', '=', 'task.pull_request_reported').execute();
    expect(events.map((e) => e.data)).toEqual([expected]);
    // The next attempt of the task (here: the same session, resumed) does not inherit it.
    await db().updateTable('sessions').set({ attempt: 2 }).where('id', '=', run.sessionId).execute();
    expect(await readReportedPullRequest(db(), run.sessionId)).toBeNull();
  });

  it('arbor_report_pull_request refuses what is not a pull request page', async () => {
    const { client, run } = await runningTask();
    for (const url of ['http://github.com/acme/web/pull/1', 'https://github.com/acme/web/issues/1', 'not a url', 'https://github.com/acme/web/pull/0']) {
      const answer = toolText(await client.callTool({ name: 'arbor_report_pull_request', arguments: { url } }));
      expect(answer, url).toMatchObject({ isError: true });
      expect(answer.text).toMatch(/invalid input/);
    }
    expect(toolText(await client.callTool({ name: 'arbor_report_pull_request', arguments: { url: 'https://github.com/a/b/pull/1', head_sha: 'xyz' } })).isError).toBe(true);
    expect(await readReportedPullRequest(db(), run.sessionId)).toBeNull();
  });

  it('arbor_add_subtasks adds tasks under the caller\'s task, held until its run ends', async () => {
    const { client, work, goal } = await runningTask();
    const answer = toolText(
      await client.callTool({
        name: 'arbor_add_subtasks',
        arguments: {
          tasks: [
            { key: `${work.key}.api`, title: 'API' },
            { key: `${work.key}.ui`, title: 'UI', depends_on: [`${work.key}.api`] },
          ],
        },
      }),
    );
    expect(answer.isError, answer.text).toBe(false);
    const tasks = byKey(await listGoalTasks(db(), goal.id));
    const api = tasks[`${work.key}.api`]!;
    const ui = tasks[`${work.key}.ui`]!;
    expect([api.parentId, ui.parentId]).toEqual([work.id, work.id]);
    expect([api.depth, ui.depth]).toEqual([1, 1]);
    expect(ui.dependsOn).toEqual([api.id]);
    // Nothing starts while the run that added them may still fail.
    expect(api.unmetDeps).toBe(1);
    const context = JSON.parse(toolText(await client.callTool({ name: 'arbor_task_context', arguments: {} })).text);
    expect(context.subtasks.map((s: { key: string }) => s.key)).toEqual([api.key, ui.key]);
  });

  it('arbor_add_subtasks refuses what planGoalTree refuses, and what would wait forever, without storing anything', async () => {
    const { client, work, prep, goal } = await runningTask();
    const before = (await listGoalTasks(db(), goal.id)).length;
    const attempts: [unknown, RegExp][] = [
      [[{ key: prep.key, title: 'again' }], /already used in this goal/],
      [[{ key: 'x', title: 'X', depends_on: [work.key] }], /waits for this task's subtasks/],
      [[{ key: 'x', title: 'X', depends_on: ['nowhere'] }], /unknown task "nowhere"/],
      [[{ key: 'x', title: 'X', depends_on: ['y'] }, { key: 'y', title: 'Y', depends_on: ['x'] }], /cycle/],
      [Array.from({ length: 11 }, (_, i) => ({ key: `many-${i}`, title: 'many' })), /at most 12 tasks/],
      [[{ key: 'x' }], /title/],
      [[], /tasks/],
    ];
    for (const [tasks, error] of attempts) {
      const answer = toolText(await client.callTool({ name: 'arbor_add_subtasks', arguments: { tasks } }));
      expect(answer.isError, JSON.stringify(tasks)).toBe(true);
      expect(answer.text).toMatch(error);
    }
    expect((await listGoalTasks(db(), goal.id)).length).toBe(before);
  });

  it('a task that needs approval cannot add subtasks', async () => {
    const { client } = await runningTask({ requires_approval: true });
    const answer = toolText(await client.callTool({ name: 'arbor_add_subtasks', arguments: { tasks: [{ key: 'x', title: 'X' }] } }));
    expect(answer).toMatchObject({ isError: true });
    expect(answer.text).toMatch(/approval/);
  });
});

describe('who may call', () => {
  it('turns away a request with no token, the API token, or the signal token: 401 in the API error shape', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${API_TOKEN}` }, { authorization: `Bearer ${'s'.repeat(32)}` }, { authorization: 'Bearer nonsense' }]) {
      const res = await post(INITIALIZE, headers);
      expect(res.status).toBe(401);
      const body = await res.json();
      expect(body).toMatchObject({ error: expect.any(String), request_id: expect.any(String) });
    }
  });

  it('turns away the token of a run that has ended', async () => {
    const { run } = await runningTask();
    await db().updateTable('sessions').set({ status: 'ended', tokenHash: null }).where('id', '=', run.sessionId).execute();
    expect((await post(INITIALIZE, { authorization: `Bearer ${run.token}` })).status).toBe(401);
  });

  it('a token acts on its own task only: another task\'s run cannot report for this one', async () => {
    const mine = await runningTask();
    const other = await runningTask();
    await other.client.callTool({ name: 'arbor_complete', arguments: { summary: 'theirs' } });
    expect(await reported(mine.run.sessionId)).toBeNull();
    expect(await reported(other.run.sessionId)).toMatchObject({ summary: 'theirs' });
  });

  it("an earlier attempt's agent still alive cannot decide the current attempt", async () => {
    const { client, run, work } = await runningTask();
    await db().updateTable('tasks').set({ attempt: 2 }).where('id', '=', work.id).execute();
    for (const [name, args] of [
      ['arbor_complete', { summary: 'late' }],
      ['arbor_add_subtasks', { tasks: [{ key: 'late', title: 'late' }] }],
      ['arbor_report_pull_request', { url: 'https://github.com/a/b/pull/1' }],
    ] as const) {
      const answer = toolText(await client.callTool({ name, arguments: args }));
      expect(answer, name).toMatchObject({ isError: true });
      expect(answer.text).toMatch(/this run is over/);
    }
    expect(await reported(run.sessionId)).toBeNull();
  });
});

describe('bad input never gets a 500', () => {
  it('answers a tool call with the wrong shape with a tool error', async () => {
    const { client } = await runningTask();
    for (const [name, args] of [
      ['arbor_complete', {}],
      ['arbor_block', { reason: '' }],
      ['arbor_report_pull_request', { url: 42 }],
      ['arbor_add_subtasks', { tasks: 'all of them' }],
    ] as const) {
      const answer = toolText(await client.callTool({ name, arguments: args as Record<string, unknown> }));
      expect(answer, name).toMatchObject({ isError: true });
    }
  });

  it('refuses text Postgres cannot store (422), malformed JSON (400), a GET stream (405) and a body over the limit (413)', async () => {
    const { run } = await runningTask();
    const auth = { authorization: `Bearer ${run.token}` };
    const call = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'arbor_block', arguments: { reason: 'nul \u0000 here' } } };
    const unstorable = await post(call, auth);
    expect(unstorable.status).toBe(422);
    expect(((await unstorable.json()) as { error: string }).error).toMatch(/reason/);
    expect((await post('{"jsonrpc":', auth)).status).toBe(400);
    const get = await fetch(new URL('/mcp', listener.url), { headers: { ...auth, accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
    await get.body?.cancel();
    expect((await post({ ...call, params: { ...call.params, arguments: { reason: 'x'.repeat(2 * 1024 * 1024) } } }, auth)).status).toBe(413);
    expect(await reported(run.sessionId)).toBeNull();
  });
});

describe('POST /api/tasks/:id/subtasks, the REST twin for command agents', () => {
  const postSubtasks = (taskId: string, body: unknown, token: string) =>
    fetch(new URL(`/api/tasks/${taskId}/subtasks`, listener.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('adds the tasks under the caller\'s own task', async () => {
    const { work, run } = await runningTask();
    const res = await postSubtasks(work.id, { tasks: [{ key: `${work.key}.a`, title: 'A' }], children_mode: 'parallel' }, run.token);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { tasks: { key: string; parent_id: string }[] };
    expect(body.tasks).toMatchObject([{ key: `${work.key}.a`, parent_id: work.id }]);
  });

  it("is for the task's own agent only, and checks the tree as a goal's", async () => {
    const { work, run } = await runningTask();
    const other = await runningTask();
    const tasks = [{ key: `${work.key}.b`, title: 'B' }];
    expect((await postSubtasks(work.id, { tasks }, API_TOKEN)).status).toBe(403);
    expect((await postSubtasks(work.id, { tasks }, other.run.token)).status).toBe(403);
    expect((await postSubtasks(work.id, { tasks: [{ key: 'b', title: 'B', depends_on: ['nowhere'] }] }, run.token)).status).toBe(422);
    const deep = '{"tasks":[' + '{"key":"d","title":"D","children":['.repeat(2000) + ']}'.repeat(2000) + ']}';
    expect((await postSubtasks(work.id, deep, run.token)).status).toBe(422);
    expect(await listGoalTasks(db(), work.goalId)).toHaveLength(2);
  });
});
