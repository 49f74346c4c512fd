import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_STATUSES } from '../../server/domain/states.js';
import { resolveSignal } from '../../server/signals/resolver.js';
import { activateReadyTasks } from '../../server/store/dispatch.js';
import { appendSessionLogs } from '../../server/store/sessions.js';
import { call, testApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { byKey, createGoal } from '../support/orchestration.js';
import { createTestSession } from '../support/sessions.js';

/** What the dashboard reads beside the tree: progress, a task's sessions, logs paged backwards, what signals opened. */

let database: TestDatabase;
let app: ReturnType<typeof testApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  app = testApp(database.db);
});
afterAll(() => database.destroy());

const zeros = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0]));

describe('goal progress', () => {
  it('counts the tasks that are not groups by status, on the list and on one goal', async () => {
    const { goal } = await createGoal(
      database.db,
      [
        { key: 'gate', title: 'Gate', kind: 'wait_for_signal', gate: { type: 'gh_ci', repo: 'acme/progress', pr: 1 } },
        { key: 'group', title: 'Group', children: [{ key: 'a', title: 'A' }, { key: 'b', title: 'B' }] },
      ],
      { childrenMode: 'parallel', title: 'progress' },
    );
    await activateReadyTasks(database.db);
    const expected = { total: 3, by_status: { ...zeros, waiting: 1, pending: 2 } };

    const one = await call(app, 'GET', `/api/goals/${goal.id}`);
    expect(one.status).toBe(200);
    expect(one.json.goal.progress).toEqual(expected);
    const list = await call(app, 'GET', '/api/goals');
    const listed = list.json.goals.find((g: { id: string }) => g.id === goal.id);
    expect(listed.progress).toEqual(expected);
    for (const g of list.json.goals) expect(Object.keys(g.progress.by_status).sort()).toEqual([...TASK_STATUSES].sort());
  });
});

describe('GET /api/sessions?task_id=', () => {
  it("lists only that task's sessions", async () => {
    const { goal, tasks } = await createGoal(database.db, [{ key: 'a', title: 'A' }, { key: 'b', title: 'B' }]);
    const { a, b } = byKey(tasks);
    const first = await createTestSession(database.db, { goalId: goal.id, taskId: a!.id });
    const second = await createTestSession(database.db, { goalId: goal.id, taskId: a!.id });
    const other = await createTestSession(database.db, { goalId: goal.id, taskId: b!.id });
    const res = await call(app, 'GET', `/api/sessions?task_id=${a!.id}`);
    expect(res.status).toBe(200);
    expect(res.json.sessions.map((s: { id: string }) => s.id).sort()).toEqual([first.id, second.id].sort());
    expect((await call(app, 'GET', `/api/sessions?goal_id=${goal.id}`)).json.sessions.map((s: { id: string }) => s.id)).toContain(other.id);
    expect((await call(app, 'GET', '/api/sessions?task_id=not-a-uuid')).status).toBe(422);
  });
});

describe('GET /api/sessions/{id}/logs?before_seq=', () => {
  it('pages backwards from the newest line to the first, oldest first within a page', async () => {
    const session = await createTestSession(database.db);
    const lines = Array.from({ length: 25 }, (_, i) => ({ stream: 'stdout' as const, text: `line ${i + 1}`, at: new Date() }));
    await appendSessionLogs(database.db, session.id, lines, 1000);

    const seen: number[][] = [];
    let before: number | null = Number.MAX_SAFE_INTEGER;
    while (before !== null) {
      const res = await call(app, 'GET', `/api/sessions/${session.id}/logs?before_seq=${before}&limit=10`);
      expect(res.status).toBe(200);
      const seqs = res.json.lines.map((l: { seq: number }) => l.seq);
      seen.push(seqs);
      expect(res.json.next_after).toBe(seqs.at(-1));
      before = res.json.next_before;
    }
    expect(seen).toEqual([
      [16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
      [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
      [1, 2, 3, 4, 5],
    ]);
    const texts = await call(app, 'GET', `/api/sessions/${session.id}/logs?before_seq=3`);
    expect(texts.json.lines.map((l: { text: string }) => l.text)).toEqual(['line 1', 'line 2']);
    expect(texts.json.next_before).toBeNull();
  });

  it('forward pages say where the older page starts, and the dropped-lines marker is paged too', async () => {
    const session = await createTestSession(database.db);
    const lines = Array.from({ length: 8 }, (_, i) => ({ stream: 'stdout' as const, text: `l${i + 1}`, at: new Date() }));
    await appendSessionLogs(database.db, session.id, lines, 5);
    const forward = await call(app, 'GET', `/api/sessions/${session.id}/logs?after=5&limit=2`);
    expect(forward.json.lines.map((l: { seq: number }) => l.seq)).toEqual([6, 7]);
    expect(forward.json.next_before).toBe(6);
    const back = await call(app, 'GET', `/api/sessions/${session.id}/logs?before_seq=6`);
    // Lines 1-3 were dropped: the marker at seq 0 stands for them.
    expect(back.json.lines.map((l: { seq: number; text: string }) => [l.seq, l.text])).toEqual([
      [0, '[3 earlier lines dropped]'],
      [4, 'l4'],
      [5, 'l5'],
    ]);
    expect(back.json.next_before).toBeNull();
    const first = await call(app, 'GET', `/api/sessions/${session.id}/logs`);
    expect(first.json.next_before).toBeNull();
    expect((await call(app, 'GET', `/api/sessions/${session.id}/logs?before_seq=-1`)).status).toBe(422);
  });
});

describe('GET /api/signals: the gates each signal opened', () => {
  it('names each matched gate by task key and goal', async () => {
    const { goal, tasks } = await createGoal(
      database.db,
      [{ key: 'ci', title: 'CI', kind: 'wait_for_signal', gate: { type: 'gh_ci', repo: 'acme/matched', pr: 7 } }],
      { title: 'matched goal' },
    );
    await activateReadyTasks(database.db);
    const result = await resolveSignal(database.db, { type: 'gh_ci', attributes: { repo: 'acme/matched', pr: 7 }, status: 'pass', source: 'api' });
    const unmatched = await resolveSignal(database.db, { type: 'gh_ci', attributes: { repo: 'acme/nobody', pr: 1 }, status: 'pass', source: 'api' });
    const res = await call(app, 'GET', '/api/signals?type=gh_ci');
    const byId = new Map(res.json.signals.map((s: { id: string }) => [s.id, s]));
    expect(byId.get(result.signalId)).toMatchObject({
      matched_task_ids: [tasks[0]!.id],
      matched: [{ task_id: tasks[0]!.id, task_key: 'ci', goal_id: goal.id, goal_title: 'matched goal' }],
    });
    expect(byId.get(unmatched.signalId)).toMatchObject({ matched_task_ids: [], matched: [] });
  });
});
