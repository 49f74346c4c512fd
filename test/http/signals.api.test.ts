import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activateReadyTasks } from '../../server/store/dispatch.js';
import { call, rowCounts, testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal } from '../support/orchestration.js';

const API_TOKEN = 'api-token-for-signals-0123456789';
const SIGNAL_TOKEN = 'signal-token-for-signals-0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let database: TestDatabase;
let app: ReturnType<typeof testApp>;
let secured: ReturnType<typeof testApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  app = testApp(database.db);
  secured = testApp(database.db, testConfig({ auth: { apiToken: API_TOKEN, signalToken: SIGNAL_TOKEN } }));
});
afterAll(() => database.destroy());

let prCounter = 900;
const nextPr = () => ++prCounter;

/** A goal whose only task is this gate, moved to `waiting` the way the orchestrator does. */
async function waitingGate(gate: Record<string, unknown>) {
  const { goal, tasks } = await createGoal(database.db, [{ key: 'gate', title: 'Gate', kind: 'wait_for_signal', gate }]);
  await activateReadyTasks(database.db);
  const id = tasks[0]!.id;
  expect(await taskStatus(id)).toBe('waiting');
  return { goalId: goal.id, taskId: id };
}

async function taskStatus(id: string) {
  return (await database.db.selectFrom('tasks').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
}

/** Everything a signal request could write: the tree's tables and the signals. */
async function state() {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM signals`.execute(database.db);
  return { ...(await rowCounts(database.db)), signals: Number(rows[0]!.n) };
}

const post = (body: unknown, headers: Record<string, string> = {}, on = app) => call(on, 'POST', '/api/signals/resolve', body, headers);

describe('POST /api/signals/resolve', () => {
  it('200 with the stored signal, the gates it matched and whether it was a duplicate', async () => {
    const pr = nextPr();
    const { goalId, taskId } = await waitingGate({ type: 'gh_ci', repo: 'acme/api', pr });
    const res = await post({
      type: 'gh_ci',
      pr_url: `https://github.com/Acme/API/pull/${pr}`,
      sha: 'ABCDEF1234',
      status: 'pass',
      summary: 'all checks green',
      artifacts: { checks: ['lint', 'test'] },
      idempotency_key: `ci-${pr}`,
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ signal_id: expect.stringMatching(UUID), matched: [taskId], duplicate: false });
    expect(await taskStatus(taskId)).toBe('succeeded');
    const goal = await call(app, 'GET', `/api/goals/${goalId}`);
    expect(goal.json.goal.status).toBe('succeeded');

    // Stored as normalized, with what it resolved.
    const listed = await call(app, 'GET', `/api/signals?repo=acme/api&pr=${pr}`);
    expect(listed.json.signals).toEqual([
      {
        id: res.json.signal_id,
        type: 'gh_ci',
        attributes: { repo: 'acme/api', pr, sha: 'abcdef1234' },
        status: 'pass',
        summary: 'all checks green',
        artifacts: { checks: ['lint', 'test'] },
        idempotency_key: `ci-${pr}`,
        source: 'api',
        matched_task_ids: [taskId],
        matched: [{ task_id: taskId, task_key: 'gate', goal_id: goalId, goal_title: 'test goal' }],
        received_at: expect.any(String),
      },
    ]);
  });

  it('repo+pr, pr as a numeric string and pr_url on an enterprise host are one pull request', async () => {
    for (const body of [
      (pr: number) => ({ repo: 'ACME/Api', pr: String(pr) }),
      (pr: number) => ({ repo: 'acme/api', pr }),
      (pr: number) => ({ pr_url: `https://git.corp.example/acme/api/pull/${pr}/files` }),
    ]) {
      const pr = nextPr();
      const { taskId } = await waitingGate({ type: 'gh_review', repo: 'acme/api', pr });
      const res = await post({ type: 'gh_review', status: 'pass', ...body(pr) });
      expect(res.status).toBe(200);
      expect(res.json.matched).toEqual([taskId]);
    }
  });

  it('200 with no match for a signal no gate waits for: it is stored all the same', async () => {
    const before = await state();
    const res = await post({ type: 'gh_ci', repo: 'acme/nobody', pr: 1, status: 'fail' });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ signal_id: expect.stringMatching(UUID), matched: [], duplicate: false });
    expect((await state()).signals).toBe(before.signals + 1);
  });

  it('the same idempotency_key answers duplicate with the first matches and changes nothing', async () => {
    const pr = nextPr();
    const { taskId } = await waitingGate({ type: 'centaur_review', repo: 'acme/api', pr });
    const body = { type: 'centaur_review', repo: 'acme/api', pr, status: 'pass', idempotency_key: `bot-${pr}` };
    const first = await post(body);
    expect(first.json).toMatchObject({ matched: [taskId], duplicate: false });
    const before = await state();
    const again = await post({ ...body, status: 'fail' });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ signal_id: first.json.signal_id, matched: [taskId], duplicate: true });
    expect(await state()).toEqual(before);
    expect(await taskStatus(taskId)).toBe('succeeded');
  });

  it('a human_approval naming its task resolves that gate', async () => {
    const { taskId } = await waitingGate({ type: 'human_approval' });
    const res = await post({ type: 'human_approval', task_id: taskId, status: 'pass', summary: 'ok' });
    expect(res.status).toBe(200);
    expect(res.json.matched).toEqual([taskId]);
  });

  describe('a bad request is 422 and changes nothing', () => {
    const cases: [string, unknown, RegExp][] = [
      ['no attribute to match on', { type: 'gh_ci', status: 'pass' }, /names nothing to match on/],
      ['only fields about the signal', { type: 'gh_ci', status: 'pass', summary: 'x', idempotency_key: 'no-attrs' }, /names nothing to match on/],
      ['a pr_url that is not a pull request', { type: 'gh_ci', pr_url: 'https://github.com/acme/api/issues/3', status: 'pass' }, /pr_url/],
      ['a pr_url that is not a url', { type: 'gh_ci', pr_url: 'acme/api#3', status: 'pass' }, /pr_url/],
      ['a pr_url and a pr that disagree', { type: 'gh_ci', pr_url: 'https://github.com/acme/api/pull/3', pr: 4, status: 'pass' }, /disagree/],
      ['a bad status', { type: 'gh_ci', repo: 'acme/api', pr: 3, status: 'ok' }, /status/],
      ['no status', { type: 'gh_ci', repo: 'acme/api', pr: 3 }, /status/],
      ['no type', { repo: 'acme/api', pr: 3, status: 'pass' }, /type/],
      ['an uppercase type', { type: 'GH_CI', repo: 'acme/api', pr: 3, status: 'pass' }, /type/],
      ['a human_approval without task_id or goal_id', { type: 'human_approval', repo: 'acme/api', pr: 3, status: 'pass' }, /task_id or a goal_id/],
      ['a human_approval naming nothing', { type: 'human_approval', status: 'pass' }, /./],
      ['a pr that is not a number', { type: 'gh_ci', repo: 'acme/api', pr: 'three', status: 'pass' }, /pr/],
      ['a repo without an owner', { type: 'gh_ci', repo: 'api', pr: 3, status: 'pass' }, /repo/],
      ['a sha that is not hex', { type: 'gh_ci', repo: 'acme/api', pr: 3, sha: 'zzzzzzz', status: 'pass' }, /sha/],
      ['an attribute that is an object', { type: 'deploy_ok', env: { name: 'x' }, status: 'pass' }, /./],
    ];
    it.each(cases)('%s', async (_name, body, message) => {
      const before = await state();
      const res = await post(body);
      expect(res.status).toBe(422);
      expect(res.json).toMatchObject({ error: expect.stringMatching(message), request_id: expect.any(String) });
      expect(await state()).toEqual(before);
    });

    it('malformed JSON is a 4xx and changes nothing', async () => {
      const before = await state();
      const res = await post('{"type": "gh_ci",');
      expect([400, 422]).toContain(res.status);
      expect(await state()).toEqual(before);
    });
  });
});

describe('auth with tokens configured', () => {
  const body = () => ({ type: 'gh_ci', repo: 'acme/auth', pr: nextPr(), status: 'pass' });

  it('the signal token works as a bearer and as X-Internal-Token; the API token works too', async () => {
    for (const headers of [
      { authorization: `Bearer ${SIGNAL_TOKEN}` },
      { 'x-internal-token': SIGNAL_TOKEN },
      { authorization: `Bearer ${API_TOKEN}` },
    ] as Record<string, string>[]) {
      const res = await post(body(), headers, secured);
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(res.json).toMatchObject({ signal_id: expect.stringMatching(UUID), duplicate: false });
    }
  });

  it('401 without a token or with a wrong one, and nothing is stored', async () => {
    const before = await state();
    const none = await post(body(), {}, secured);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    for (const headers of [
      { authorization: 'Bearer not-the-token' },
      { 'x-internal-token': 'not-the-token' },
      { authorization: `Basic ${SIGNAL_TOKEN}` },
      { authorization: `Bearer ${SIGNAL_TOKEN}x` },
    ] as Record<string, string>[]) {
      expect((await post(body(), headers, secured)).status, JSON.stringify(headers)).toBe(401);
    }
    expect(await state()).toEqual(before);
  });

  it('403 for the signal token anywhere but posting signals, and nothing changes', async () => {
    const before = await state();
    const goal = { title: 'x', repo: '/tmp/x', tasks: [{ key: 'a', title: 'A' }] };
    const asBearer = await call(secured, 'POST', '/api/goals', goal, { authorization: `Bearer ${SIGNAL_TOKEN}` });
    expect(asBearer.status).toBe(403);
    const asInternal = await call(secured, 'POST', '/api/goals', goal, { 'x-internal-token': SIGNAL_TOKEN });
    expect(asInternal.status).toBe(403);
    expect((await call(secured, 'GET', '/api/goals', undefined, { authorization: `Bearer ${SIGNAL_TOKEN}` })).status).toBe(403);
    expect(await state()).toEqual(before);
  });

  it('GET /api/signals needs a token like the rest of the API', async () => {
    expect((await call(secured, 'GET', '/api/signals')).status).toBe(401);
    expect((await call(secured, 'GET', '/api/signals', undefined, { authorization: `Bearer ${API_TOKEN}` })).status).toBe(200);
  });
});

describe('GET /api/signals', () => {
  it('filters by type, repo (case-insensitively) and pr', async () => {
    const repo = `filter/r${nextPr()}`;
    const sent: Record<string, string> = {};
    for (const [name, body] of [
      ['ci1', { type: 'gh_ci', repo, pr: 1, status: 'pass' }],
      ['ci2', { type: 'gh_ci', repo: repo.toUpperCase(), pr: 2, status: 'fail' }],
      ['review1', { type: 'gh_review', pr_url: `https://github.com/${repo}/pull/1`, status: 'pass' }],
      ['other', { type: 'gh_ci', repo: `${repo}x`, pr: 1, status: 'pass' }],
    ] as const) {
      const res = await post(body);
      expect(res.status).toBe(200);
      sent[name] = res.json.signal_id;
    }
    const ids = async (query: string) => {
      const res = await call(app, 'GET', `/api/signals?${query}`);
      expect(res.status).toBe(200);
      return (res.json.signals as { id: string }[]).map((s) => s.id);
    };
    // Newest first.
    expect(await ids(`repo=${repo}`)).toEqual([sent.review1, sent.ci2, sent.ci1]);
    expect(await ids(`repo=${encodeURIComponent(repo.toUpperCase())}`)).toEqual([sent.review1, sent.ci2, sent.ci1]);
    expect(await ids(`repo=${repo}&type=gh_ci`)).toEqual([sent.ci2, sent.ci1]);
    expect(await ids(`repo=${repo}&pr=1`)).toEqual([sent.review1, sent.ci1]);
    expect(await ids(`repo=${repo}&pr=1&type=gh_review`)).toEqual([sent.review1]);
    expect(await ids(`repo=${repo}&pr=3`)).toEqual([]);
    const byType = await ids(`type=gh_review&limit=500`);
    expect(byType).toContain(sent.review1);
    expect(byType).not.toContain(sent.ci1);
  });

  it('pages with next_cursor, newest first, each signal once', async () => {
    const repo = `page/r${nextPr()}`;
    const sent: string[] = [];
    for (let pr = 1; pr <= 5; pr++) sent.push((await post({ type: 'gh_ci', repo, pr, status: 'pass' })).json.signal_id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(app, 'GET', `/api/signals?repo=${repo}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.json.signals.length).toBeLessThanOrEqual(2);
      seen.push(...res.json.signals.map((s: { id: string }) => s.id));
      cursor = res.json.next_cursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...sent].reverse());
  });

  it('pages without losing signals received within the same millisecond', async () => {
    // received_at is kept to the microsecond; a cursor must not round it to a JavaScript millisecond.
    const repo = `page/r${nextPr()}`;
    const sent: string[] = [];
    for (let pr = 1; pr <= 3; pr++) sent.push((await post({ type: 'gh_ci', repo, pr, status: 'pass' })).json.signal_id);
    const times = ['2030-01-01T00:00:00.000300Z', '2030-01-01T00:00:00.000600Z', '2030-01-01T00:00:00.000900Z'];
    for (const [i, id] of sent.entries()) {
      await sql`UPDATE signals SET received_at = ${times[i]!}::timestamptz WHERE id = ${id}`.execute(database.db);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(app, 'GET', `/api/signals?repo=${repo}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...res.json.signals.map((s: { id: string }) => s.id));
      cursor = res.json.next_cursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen).toEqual([...sent].reverse());
  });

  it('422 for a bad query, and nothing changes', async () => {
    const before = await state();
    expect((await call(app, 'GET', '/api/signals?limit=0')).status).toBe(422);
    expect((await call(app, 'GET', '/api/signals?limit=501')).status).toBe(422);
    expect((await call(app, 'GET', '/api/signals?pr=abc')).status).toBe(422);
    expect((await call(app, 'GET', '/api/signals?cursor=not-a-uuid')).status).toBe(422);
    expect((await call(app, 'GET', '/api/signals?cursor=00000000-0000-4000-8000-000000000000')).status).toBe(422);
    expect(await state()).toEqual(before);
  });
});

describe('POST /api/tasks/:id/signal, approve, reject', () => {
  it('signal decides a waiting gate; 409 when it is not waiting; 404 for no such task', async () => {
    const pr = nextPr();
    const { taskId } = await waitingGate({ type: 'gh_ci', repo: 'acme/direct', pr });
    const res = await call(app, 'POST', `/api/tasks/${taskId}/signal`, { status: 'pass', summary: 'by hand' });
    expect(res.status).toBe(200);
    expect(res.json.task).toMatchObject({ id: taskId, status: 'succeeded' });

    const before = await state();
    const again = await call(app, 'POST', `/api/tasks/${taskId}/signal`, { status: 'pass' });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatch(/not waiting/);
    expect((await call(app, 'POST', '/api/tasks/00000000-0000-4000-8000-000000000000/signal', { status: 'pass' })).status).toBe(404);
    expect((await call(app, 'POST', `/api/tasks/${taskId}/signal`, { status: 'maybe' })).status).toBe(422);
    expect(await state()).toEqual(before);
  });

  it('approve and reject are 409 for a task not in review, and reject needs feedback', async () => {
    const pr = nextPr();
    const { taskId } = await waitingGate({ type: 'gh_ci', repo: 'acme/direct', pr });
    const before = await state();
    expect((await call(app, 'POST', `/api/tasks/${taskId}/approve`, {})).status).toBe(409);
    expect((await call(app, 'POST', `/api/tasks/${taskId}/reject`, { feedback: 'no' })).status).toBe(409);
    expect((await call(app, 'POST', `/api/tasks/${taskId}/reject`, {})).status).toBe(422);
    expect(await state()).toEqual(before);
  });

  it('approve lets a review through', async () => {
    const { goal, tasks } = await createGoal(database.db, [{ key: 'ok', title: 'Sign-off', kind: 'human_review' }]);
    await activateReadyTasks(database.db);
    const id = tasks[0]!.id;
    expect(await taskStatus(id)).toBe('review');
    const res = await call(app, 'POST', `/api/tasks/${id}/approve`, { comment: 'LGTM' });
    expect(res.status).toBe(200);
    expect(res.json.task).toMatchObject({ status: 'succeeded', result: { approved: true, comment: 'LGTM' } });
    const goalRow = await database.db.selectFrom('goals').select('status').where('id', '=', goal.id).executeTakeFirstOrThrow();
    expect(goalRow.status).toBe('succeeded');
  });
});
