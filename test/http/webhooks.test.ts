import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SIGNALS_PER_DELIVERY } from '../../server/signals/github.js';
import { activateReadyTasks } from '../../server/store/dispatch.js';
import { call, rowCounts, testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal, goalStatus } from '../support/orchestration.js';

const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, any>[] }[];

const SECRET = 'webhook-secret-current-0123456789';
const OLD_SECRET = 'webhook-secret-previous-0123456789';
const PATH = '/api/webhooks/github';

let database: TestDatabase;
let app: ReturnType<typeof testApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  app = testApp(database.db, testConfig({ auth: { githubWebhookSecret: SECRET, githubWebhookSecretOld: OLD_SECRET } }));
});
afterAll(() => database.destroy());

function example(event: string, pick: (payload: Record<string, any>) => boolean = () => true): Record<string, any> {
  const found = definitions.find((d) => d.name === event)?.examples.find(pick);
  if (!found) throw new Error(`no ${event} example matches`);
  return structuredClone(found);
}

/** Ids for payloads: each suite, run and review is one of its own, as on GitHub. */
let ids = 500_000_000;
const nextId = () => ++ids;

/** A real completed, successful check suite of Codertocat/Hello-World for pull request `pr`. */
function checkSuite(pr: number, conclusion = 'success') {
  const payload = example('check_suite', (p) => p.action === 'completed' && p.check_suite.pull_requests.length > 0);
  payload.check_suite.id = nextId();
  payload.check_suite.conclusion = conclusion;
  payload.check_suite.pull_requests[0].number = pr;
  return payload;
}

/** A real submitted review of Codertocat/Hello-World, turned into a verdict on pull request `pr`. */
function review(pr: number, state: string, body: string | null) {
  const payload = example('pull_request_review', (p) => p.action === 'submitted');
  payload.pull_request.number = pr;
  payload.review.id = nextId();
  payload.review.state = state;
  payload.review.body = body;
  return payload;
}

let deliveries = 0;
const nextDelivery = () => `00000000-0000-4000-8000-${String(++deliveries).padStart(12, '0')}`;

const signatureOf = (body: string, secret = SECRET) =>
  `sha256=${createHmac('sha256', secret).update(Buffer.from(body, 'utf8')).digest('hex')}`;

/**
 * Posts `body` as GitHub would: the exact string given (not re-serialized),
 * signed over its UTF-8 bytes. `headers` overrides or (with undefined) drops any header.
 */
function deliver(event: string, body: string, headers: Record<string, string | undefined> = {}) {
  const all: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/test',
    'x-github-event': event,
    'x-github-delivery': nextDelivery(),
    'x-hub-signature-256': signatureOf(body),
    ...headers,
  };
  const sent = Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
  return call(app, 'POST', PATH, body, sent);
}

/** A goal whose only task is a gate, moved to `waiting` the way the orchestrator does. */
async function waitingGate(gate: Record<string, unknown>) {
  const { goal, tasks } = await createGoal(database.db, [{ key: 'gate', title: 'Gate', kind: 'wait_for_signal', gate }]);
  await activateReadyTasks(database.db);
  const task = await taskRow(tasks[0]!.id);
  expect(task.status).toBe('waiting');
  return { goalId: goal.id, taskId: task.id };
}

function taskRow(id: string) {
  return database.db.selectFrom('tasks').select(['id', 'status', 'error', 'result']).where('id', '=', id).executeTakeFirstOrThrow();
}

/** Everything a delivery could write: the tree's tables and the signals. */
async function state() {
  const signals = await database.db.selectFrom('signals').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return { ...(await rowCounts(database.db)), signals: Number(signals.n) };
}

describe('POST /api/webhooks/github: CI', () => {
  it('resolves a waiting gh_ci gate from a signed real check_suite payload', async () => {
    const { goalId, taskId } = await waitingGate({ type: 'gh_ci', repo: 'Codertocat/Hello-World', pr: 2 });
    const payload = checkSuite(2);
    const body = JSON.stringify(payload);
    const delivery = nextDelivery();
    const res = await deliver('check_suite', body, { 'x-github-delivery': delivery });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ signals: [{ signal_id: expect.any(String), matched: [taskId], duplicate: false }] });

    expect(await taskRow(taskId)).toMatchObject({ status: 'succeeded', result: { summary: 'CI: octocoders-linter success on ec26c3e' } });
    expect(await goalStatus(database.db, goalId)).toBe('succeeded');
    const signal = await database.db.selectFrom('signals').selectAll().where('id', '=', res.json.signals[0].signal_id).executeTakeFirstOrThrow();
    expect(signal).toMatchObject({
      type: 'gh_ci',
      status: 'pass',
      source: 'github',
      attributes: { repo: 'codertocat/hello-world', pr: 2, sha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821' },
      // What the payload is about, not which delivery brought it.
      idempotencyKey: `github:check_suite:${payload.check_suite.id}:2019-05-15T15:21:14Z:codertocat/hello-world#2`,
    });
  });

  it('a repeated delivery id answers duplicate and changes nothing', async () => {
    const { taskId } = await waitingGate({ type: 'gh_ci', repo: 'codertocat/hello-world', pr: 31 });
    const body = JSON.stringify(checkSuite(31, 'failure'));
    const delivery = nextDelivery();
    const first = await deliver('check_suite', body, { 'x-github-delivery': delivery });
    expect(first.status).toBe(200);
    expect(first.json.signals).toEqual([{ signal_id: expect.any(String), matched: [taskId], duplicate: false }]);
    // Nothing before the gate to send back: a failing check fails it, with the check's summary.
    const failed = await taskRow(taskId);
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringContaining('CI: octocoders-linter failure on ec26c3e') });

    const before = await state();
    const again = await deliver('check_suite', body, { 'x-github-delivery': delivery });
    expect(again.status).toBe(200);
    expect(again.json.signals).toEqual([{ signal_id: first.json.signals[0].signal_id, matched: [taskId], duplicate: true }]);
    expect(await state()).toEqual(before);
    expect(await taskRow(taskId)).toEqual(failed);
  });

  it('a gate that names the commit is resolved by a run of that commit only', async () => {
    const { taskId } = await waitingGate({ type: 'gh_ci', repo: 'codertocat/hello-world', pr: 32, sha: 'EC26C3E57CA3A959CA5AAD62DE7213C562F8C821' });
    const other = checkSuite(32);
    other.check_suite.head_sha = 'b'.repeat(40);
    other.check_suite.pull_requests[0].head.sha = 'b'.repeat(40);
    const res = await deliver('check_suite', JSON.stringify(other));
    expect(res.json.signals).toEqual([{ signal_id: expect.any(String), matched: [], duplicate: false }]);
    expect((await taskRow(taskId)).status).toBe('waiting');

    expect((await deliver('check_suite', JSON.stringify(checkSuite(32)))).json.signals[0].matched).toEqual([taskId]);
    expect((await taskRow(taskId)).status).toBe('succeeded');
  });

  it('a workflow_run resolves every pull request it lists', async () => {
    const a = await waitingGate({ type: 'gh_ci', repo: 'octo-org/octo-repo', pr: 41 });
    const b = await waitingGate({ type: 'gh_ci', repo: 'octo-org/octo-repo', pr: 42 });
    const payload = example('workflow_run', (p) => p.action === 'completed' && p.workflow_run.conclusion === 'success');
    const run = payload.workflow_run;
    const pr = (number: number) => ({
      url: `https://api.github.com/repos/octo-org/octo-repo/pulls/${number}`,
      number,
      head: { ref: `feature-${number}`, sha: run.head_sha, repo: { id: payload.repository.id, url: payload.repository.url, name: 'octo-repo' } },
      base: { ref: 'master', sha: 'a'.repeat(40), repo: { id: payload.repository.id, url: payload.repository.url, name: 'octo-repo' } },
    });
    run.pull_requests = [pr(41), pr(42)];
    const res = await deliver('workflow_run', JSON.stringify(payload));
    expect(res.status).toBe(200);
    expect(res.json.signals.map((s: { matched: string[] }) => s.matched)).toEqual([[a.taskId], [b.taskId]]);
    expect((await taskRow(a.taskId)).status).toBe('succeeded');
    expect((await taskRow(b.taskId)).status).toBe('succeeded');
  });
});

describe('POST /api/webhooks/github: reviews', () => {
  const NON_ASCII = 'Bitte überarbeiten: die Fehlermeldung ist „unklar“ — naïve retry 🔁, 修正してください';

  it('an approval with a non-ASCII body, signed over the raw bytes, passes a gh_review gate', async () => {
    const { taskId } = await waitingGate({ type: 'gh_review', pr_url: 'https://github.com/Codertocat/Hello-World/pull/51' });
    // Laid out and escaped as no JSON.stringify would: only the bytes sent can verify.
    const body = JSON.stringify(review(51, 'approved', `Sieht gut aus ✓ ${NON_ASCII}`), null, 2).replace('Sieht', '\\u0053ieht');
    expect(Buffer.byteLength(body)).toBeGreaterThan(body.length);
    const res = await deliver('pull_request_review', body);
    expect(res.status).toBe(200);
    expect(res.json.signals).toEqual([{ signal_id: expect.any(String), matched: [taskId], duplicate: false }]);
    expect(await taskRow(taskId)).toMatchObject({ status: 'succeeded', result: { summary: `Sieht gut aus ✓ ${NON_ASCII}` } });
  });

  it('requested changes fail the gate with the review body', async () => {
    const { taskId } = await waitingGate({ type: 'gh_review', repo: 'codertocat/hello-world', pr: 52 });
    const res = await deliver('pull_request_review', JSON.stringify(review(52, 'changes_requested', NON_ASCII)));
    expect(res.status).toBe(200);
    expect(res.json.signals[0].matched).toEqual([taskId]);
    const task = await taskRow(taskId);
    expect(task.status).toBe('failed');
    expect(task.error).toContain(NON_ASCII);
  });

  it('a comment is ignored and leaves the gate waiting', async () => {
    const { taskId } = await waitingGate({ type: 'gh_review', repo: 'codertocat/hello-world', pr: 53 });
    const before = await state();
    const res = await deliver('pull_request_review', JSON.stringify(review(53, 'commented', 'nit: naming')));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ ignored: 'a review that is commented is not a verdict' });
    expect(await state()).toEqual(before);
    expect((await taskRow(taskId)).status).toBe('waiting');
  });
});

describe('POST /api/webhooks/github: replays', () => {
  /** A real completed workflow_run of octo-org/octo-repo for pull request `pr`, at `attempt`. */
  function workflowRun(pr: number, conclusion: string, attempt: number) {
    const payload = example('workflow_run', (p) => p.action === 'completed' && p.workflow_run.conclusion === 'success');
    const run = payload.workflow_run;
    run.conclusion = conclusion;
    run.run_attempt = attempt;
    const repo = { id: payload.repository.id, url: payload.repository.url, name: 'octo-repo' };
    run.pull_requests = [{ url: `${payload.repository.url}/pulls/${pr}`, number: pr, head: { ref: 'f', sha: run.head_sha, repo }, base: { ref: 'master', sha: 'a'.repeat(40), repo } }];
    return payload;
  }

  it('a captured failure sent again under a new delivery id is a duplicate: a gate waiting now is not touched', async () => {
    const first = await waitingGate({ type: 'gh_ci', repo: 'codertocat/hello-world', pr: 81 });
    const body = JSON.stringify(checkSuite(81, 'failure'));
    const applied = await deliver('check_suite', body);
    expect(applied.json.signals).toEqual([{ signal_id: expect.any(String), matched: [first.taskId], duplicate: false }]);
    expect((await taskRow(first.taskId)).status).toBe('failed');

    // The gate armed again (here: a new one for the same pull request), then the
    // same signed bytes arrive with a fresh X-GitHub-Delivery.
    const second = await waitingGate({ type: 'gh_ci', repo: 'codertocat/hello-world', pr: 81 });
    const before = await state();
    const replayed = await deliver('check_suite', body);
    expect(replayed.status).toBe(200);
    expect(replayed.json.signals).toEqual([{ signal_id: applied.json.signals[0].signal_id, matched: [first.taskId], duplicate: true }]);
    expect(await state()).toEqual(before);
    expect((await taskRow(second.taskId)).status).toBe('waiting');
  });

  it('a replayed review is a duplicate', async () => {
    const body = JSON.stringify(review(82, 'changes_requested', 'no'));
    const first = await deliver('pull_request_review', body);
    expect(first.json.signals[0].duplicate).toBe(false);
    const { taskId } = await waitingGate({ type: 'gh_review', repo: 'codertocat/hello-world', pr: 82 });
    const before = await state();
    const again = await deliver('pull_request_review', body);
    expect(again.json.signals).toEqual([{ signal_id: first.json.signals[0].signal_id, matched: [], duplicate: true }]);
    expect(await state()).toEqual(before);
    expect((await taskRow(taskId)).status).toBe('waiting');
  });

  it('a re-run is a new result: the next attempt of a workflow run, a check suite completing again', async () => {
    const failed = await deliver('workflow_run', JSON.stringify(workflowRun(83, 'failure', 1)));
    expect(failed.json.signals[0].duplicate).toBe(false);
    const { taskId } = await waitingGate({ type: 'gh_ci', repo: 'octo-org/octo-repo', pr: 83 });
    // A replay of attempt 1 changes nothing; attempt 2 decides.
    expect((await deliver('workflow_run', JSON.stringify(workflowRun(83, 'failure', 1)))).json.signals[0].duplicate).toBe(true);
    expect((await taskRow(taskId)).status).toBe('waiting');
    const rerun = await deliver('workflow_run', JSON.stringify(workflowRun(83, 'success', 2)));
    expect(rerun.json.signals).toEqual([{ signal_id: expect.any(String), matched: [taskId], duplicate: false }]);
    expect((await taskRow(taskId)).status).toBe('succeeded');

    const suite = checkSuite(84, 'failure');
    expect((await deliver('check_suite', JSON.stringify(suite))).json.signals[0].duplicate).toBe(false);
    const gate = await waitingGate({ type: 'gh_ci', repo: 'codertocat/hello-world', pr: 84 });
    suite.check_suite.conclusion = 'success';
    suite.check_suite.updated_at = '2019-05-15T16:02:51Z';
    const again = await deliver('check_suite', JSON.stringify(suite));
    expect(again.json.signals).toEqual([{ signal_id: expect.any(String), matched: [gate.taskId], duplicate: false }]);
    expect((await taskRow(gate.taskId)).status).toBe('succeeded');
  });

  it("a caller of the signals API cannot take the key of GitHub's verdict ahead of it", async () => {
    const payload = checkSuite(85, 'failure');
    const key = `github:check_suite:${payload.check_suite.id}:2019-05-15T15:21:14Z:codertocat/hello-world#85`;
    const squat = await call(app, 'POST', '/api/signals/resolve', { type: 'gh_ci', repo: 'someone/else', pr: 1, status: 'pass', idempotency_key: key });
    expect(squat.json).toMatchObject({ duplicate: false });
    const { taskId } = await waitingGate({ type: 'gh_ci', repo: 'codertocat/hello-world', pr: 85 });
    const res = await deliver('check_suite', JSON.stringify(payload));
    expect(res.json.signals).toEqual([{ signal_id: expect.any(String), matched: [taskId], duplicate: false }]);
    expect((await taskRow(taskId)).status).toBe('failed');
    // The API's own key space still dedupes as before.
    const again = await call(app, 'POST', '/api/signals/resolve', { type: 'gh_ci', repo: 'someone/else', pr: 1, status: 'pass', idempotency_key: key });
    expect(again.json).toMatchObject({ signal_id: squat.json.signal_id, duplicate: true });
  });

  it(`one delivery posts at most ${MAX_SIGNALS_PER_DELIVERY} signals`, async () => {
    const payload = checkSuite(100);
    const [pr] = payload.check_suite.pull_requests;
    payload.check_suite.pull_requests = Array.from({ length: MAX_SIGNALS_PER_DELIVERY + 30 }, (_, i) => ({ ...structuredClone(pr), number: 100 + i }));
    const before = await state();
    const res = await deliver('check_suite', JSON.stringify(payload));
    expect(res.status).toBe(200);
    expect(res.json.signals).toHaveLength(MAX_SIGNALS_PER_DELIVERY);
    expect((await state()).signals - before.signals).toBe(MAX_SIGNALS_PER_DELIVERY);
  });
});

describe('POST /api/webhooks/github: authentication', () => {
  it('401 for a missing or wrong signature, and nothing is stored', async () => {
    const { taskId } = await waitingGate({ type: 'gh_ci', repo: 'codertocat/hello-world', pr: 61 });
    const body = JSON.stringify(checkSuite(61));
    const before = await state();
    const wrong = [
      undefined,
      signatureOf(body, 'not-the-webhook-secret-000000'),
      signatureOf(`${body} `),
      signatureOf(body).slice('sha256='.length),
      signatureOf(body).slice(0, -1),
      `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`,
    ];
    for (const signature of wrong) {
      const res = await deliver('check_suite', body, { 'x-hub-signature-256': signature });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: expect.stringMatching(/X-Hub-Signature-256/), request_id: expect.any(String) });
    }
    // A valid signature of other bytes does not carry over to these.
    const tampered = body.replace('"success"', '"failure"');
    expect((await deliver('check_suite', tampered, { 'x-hub-signature-256': signatureOf(body) })).status).toBe(401);
    expect(await state()).toEqual(before);
    expect((await taskRow(taskId)).status).toBe('waiting');
  });

  it('accepts the old secret during a rotation', async () => {
    const { taskId } = await waitingGate({ type: 'gh_ci', repo: 'codertocat/hello-world', pr: 62 });
    const body = JSON.stringify(checkSuite(62));
    const res = await deliver('check_suite', body, { 'x-hub-signature-256': signatureOf(body, OLD_SECRET) });
    expect(res.status).toBe(200);
    expect(res.json.signals[0].matched).toEqual([taskId]);
  });

  it('503 when no webhook secret is configured', async () => {
    const open = testApp(database.db, testConfig());
    const body = JSON.stringify(example('ping'));
    const res = await call(open, 'POST', PATH, body, { 'x-github-event': 'ping', 'x-github-delivery': nextDelivery(), 'x-hub-signature-256': signatureOf(body) });
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ error: 'webhook secret not configured', request_id: expect.any(String) });
  });
});

describe('POST /api/webhooks/github: other deliveries', () => {
  it('200 for a real ping', async () => {
    const res = await deliver('ping', JSON.stringify(example('ping')));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ok: true });
  });

  it('202 for events it does not act on, and nothing is stored', async () => {
    const before = await state();
    const push = await deliver('push', JSON.stringify(example('push')));
    expect(push.status).toBe(202);
    expect(push.json).toEqual({ ignored: 'event "push" is not one Arbor acts on' });
    const requested = await deliver('check_suite', JSON.stringify(example('check_suite', (p) => p.action === 'requested')));
    expect(requested.status).toBe(202);
    expect(requested.json).toEqual({ ignored: 'check_suite requested is not a result' });
    const noPr = await deliver('check_suite', JSON.stringify(example('check_suite', (p) => p.action === 'completed' && p.check_suite.pull_requests.length === 0)));
    expect(noPr.status).toBe(202);
    expect(await state()).toEqual(before);
  });

  it('400 without the event or delivery header, or for a body that is not JSON', async () => {
    const body = JSON.stringify(checkSuite(71));
    const before = await state();
    const noEvent = await deliver('check_suite', body, { 'x-github-event': undefined });
    expect(noEvent.status).toBe(400);
    expect(noEvent.json.error).toBe('missing or malformed X-GitHub-Event header');
    const noDelivery = await deliver('check_suite', body, { 'x-github-delivery': undefined });
    expect(noDelivery.status).toBe(400);
    expect(noDelivery.json.error).toBe('missing or malformed X-GitHub-Delivery header');
    const notJson = await deliver('check_suite', '{"action": "completed",');
    expect(notJson.status).toBe(400);
    expect(notJson.json.error).toBe('the body is not valid UTF-8 JSON');
    expect(await state()).toEqual(before);
  });

  it('415 for a form-encoded delivery, 413 for an oversized one', async () => {
    const body = `payload=${encodeURIComponent(JSON.stringify(example('ping')))}`;
    const form = await deliver('ping', body, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    const small = testApp(database.db, testConfig({ auth: { githubWebhookSecret: SECRET }, http: { bodyLimitBytes: 2048 } }));
    const big = JSON.stringify({ ...example('ping'), padding: 'x'.repeat(4096) });
    const res = await call(small, 'POST', PATH, big, { 'x-github-event': 'ping', 'x-github-delivery': nextDelivery(), 'x-hub-signature-256': signatureOf(big) });
    expect(res.status).toBe(413);
  });

  it('422 for an event that names a repository no gate could match, and nothing is stored', async () => {
    const payload = checkSuite(72);
    payload.repository.full_name = 'Codertocat/Hello+World';
    payload.check_suite.pull_requests[0].base.repo.id = payload.repository.id;
    const before = await state();
    const res = await deliver('check_suite', JSON.stringify(payload));
    expect(res.status).toBe(422);
    expect(res.json.error).toBe('repo must look like owner/name');
    expect(await state()).toEqual(before);
  });

  it('is declared in the OpenAPI document, without bearer auth', async () => {
    const doc = (await call(app, 'GET', '/openapi.json')).json;
    const operation = doc.paths['/api/webhooks/github'].post;
    expect(operation.security).toEqual([]);
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '202', '400', '401', '503']));
    expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual(['X-Hub-Signature-256', 'X-GitHub-Event', 'X-GitHub-Delivery']);
  });
});

describe('POST /api/webhooks/github with ARBOR_API_TOKEN set', () => {
  it('needs no bearer token: the signature is its authentication', async () => {
    const guarded = testApp(
      database.db,
      testConfig({ auth: { apiToken: 'api-token-0123456789abcdef', githubWebhookSecret: SECRET } }),
    );
    const body = JSON.stringify(example('ping'));
    const headers = { 'x-github-event': 'ping', 'x-github-delivery': nextDelivery() };
    expect((await call(guarded, 'POST', PATH, body, { ...headers, 'x-hub-signature-256': signatureOf(body) })).status).toBe(200);
    expect((await call(guarded, 'POST', PATH, body, { ...headers, 'x-hub-signature-256': signatureOf(body, OLD_SECRET) })).status).toBe(401);
  });
});
