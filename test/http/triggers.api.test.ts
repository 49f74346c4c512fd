import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTemplate } from '../../server/store/templates.js';
import { call, testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { goalsStartedBy, tablesAsText } from '../support/triggers.js';

const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, any>[] }[];

const SECRET = 'webhook-secret-for-triggers-0123456789';

let database: TestDatabase;
let app: ReturnType<typeof testApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  app = testApp(database.db, testConfig({ auth: { githubWebhookSecret: SECRET } }));
  await insertTemplate(database.db, {
    name: 'review-pr',
    description: 'Review a pull request',
    parameters: {
      repo: { type: 'string', example: '/srv/repos/hello' },
      pr_url: { type: 'string', example: 'https://github.com/acme/web/pull/1' },
      pr_title: { type: 'string', example: 'A change' },
      number: { type: 'integer', example: 1 },
    },
    body: {
      title: 'Review #{{number}}: {{pr_title}}',
      repo: '{{repo}}',
      tasks: [{ key: 'review', title: 'Review {{pr_url}}', instructions: 'Review {{pr_url}} ({{pr_title}})' }],
    },
  });
});
afterAll(() => database.destroy());

function example(event: string, pick: (payload: Record<string, any>) => boolean): Record<string, any> {
  const found = definitions.find((d) => d.name === event)?.examples.find(pick);
  if (!found) throw new Error(`no ${event} example matches`);
  return structuredClone(found);
}

let deliveries = 0;
const nextDelivery = () => `10000000-0000-4000-8000-${String(++deliveries).padStart(12, '0')}`;

/** Posts a payload as GitHub does: signed over the exact bytes, with its event and delivery id. */
function deliver(event: string, payload: unknown, delivery = nextDelivery()) {
  const body = JSON.stringify(payload);
  return call(app, 'POST', '/api/webhooks/github', body, {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': delivery,
    'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(Buffer.from(body, 'utf8')).digest('hex')}`,
  });
}

async function createTrigger(body: Record<string, unknown>) {
  const res = await call(app, 'POST', '/api/triggers', body);
  expect(res.status, res.text).toBe(201);
  return res.json.trigger as { id: string };
}

const goalsOf = (triggerId: string) => goalsStartedBy(database.db, triggerId);
const tableText = (tables: string[]) => tablesAsText(database.db, tables);

describe('GitHub event triggers', () => {
  it('starts one goal per delivery of a matching pull_request event; a redelivery finds the same goal', async () => {
    const trigger = await createTrigger({
      template: 'review-pr',
      params: { repo: '/srv/repos/hello' },
      github: {
        event: 'pull_request',
        action: 'opened',
        repository: 'codertocat/hello-world',
        label: 'bug',
        params_from: { pr_url: 'pull_request.html_url', pr_title: 'pull_request.title', number: 'pull_request.number' },
      },
    });
    const opened = example('pull_request', (p) => p.action === 'opened' && p.pull_request.labels.some((l: { name: string }) => l.name === 'bug'));
    const delivery = nextDelivery();
    expect((await deliver('pull_request', opened, delivery)).status).toBe(202);
    const [goal] = await goalsOf(trigger.id);
    expect(goal).toBeDefined();
    expect(goal!.title).toBe(`Review #${opened.pull_request.number}: ${opened.pull_request.title}`);
    expect(goal!.metadata).toMatchObject({ trigger: { id: trigger.id, slot: `delivery:${delivery}` }, template: { name: 'review-pr' } });

    // GitHub redelivers under the same delivery id, sometimes twice at once.
    const again = await Promise.all([deliver('pull_request', opened, delivery), deliver('pull_request', opened, delivery)]);
    expect(again.map((r) => r.status)).toEqual([202, 202]);
    expect((await goalsOf(trigger.id)).map((g) => g.id)).toEqual([goal!.id]);

    // Another delivery is another event: another goal.
    await deliver('pull_request', opened);
    expect(await goalsOf(trigger.id)).toHaveLength(2);

    const listed = await call(app, 'GET', '/api/triggers');
    expect(listed.json.triggers.find((t: { id: string }) => t.id === trigger.id)).toMatchObject({
      template: 'review-pr',
      schedule: null,
      github: { event: 'pull_request', action: 'opened', label: 'bug', repository: 'codertocat/hello-world' },
    });
  });

  it('starts nothing for an event the filters do not pass', async () => {
    const trigger = await createTrigger({
      template: 'review-pr',
      params: { repo: '/srv/repos/hello' },
      github: { event: 'pull_request', action: 'opened', label: 'shepherd', repository: 'Codertocat/Hello-World', params_from: { pr_url: 'pull_request.html_url', pr_title: 'pull_request.title', number: 'pull_request.number' } },
    });
    const opened = example('pull_request', (p) => p.action === 'opened');
    await deliver('pull_request', opened);
    await deliver('pull_request', { ...opened, action: 'closed', pull_request: { ...opened.pull_request, labels: [{ name: 'shepherd' }] } });
    const otherRepo = { ...opened, pull_request: { ...opened.pull_request, labels: [{ name: 'shepherd' }] }, repository: { ...opened.repository, full_name: 'acme/else' } };
    await deliver('pull_request', otherRepo);
    expect(await goalsOf(trigger.id)).toEqual([]);
    // The same event with the label on it passes.
    await deliver('pull_request', { ...opened, pull_request: { ...opened.pull_request, labels: [{ name: 'shepherd' }] } });
    expect(await goalsOf(trigger.id)).toHaveLength(1);
  });

  it('starts a goal when an issue is labeled, and records an event whose payload lacks a parameter', async () => {
    const trigger = await createTrigger({
      template: 'review-pr',
      params: { repo: '/srv/repos/hello', pr_url: 'none' },
      github: { event: 'issues', action: 'labeled', label: 'bug', params_from: { pr_title: 'issue.title', number: 'issue.number' } },
    });
    const labeled = example('issues', (p) => p.action === 'labeled');
    await deliver('issues', labeled);
    const goals = await goalsOf(trigger.id);
    expect(goals.map((g) => g.title)).toEqual([`Review #${labeled.issue.number}: ${labeled.issue.title}`]);

    const untitled = structuredClone(labeled);
    delete untitled.issue.title;
    const delivery = nextDelivery();
    expect((await deliver('issues', untitled, delivery)).status).toBe(202);
    expect(await goalsOf(trigger.id)).toHaveLength(1);
    const listed = await call(app, 'GET', '/api/triggers');
    expect(listed.json.triggers.find((t: { id: string }) => t.id === trigger.id).last_run).toMatchObject({
      slot: `delivery:${delivery}`,
      goal_id: null,
      error: expect.stringContaining('pr_title (issue.title)'),
    });
  });

  it('starts nothing once the trigger is deleted, and keeps the goals it started', async () => {
    const trigger = await createTrigger({
      template: 'review-pr',
      params: { repo: '/srv/repos/hello', pr_title: 'fixed', number: 1 },
      github: { event: 'pull_request', action: 'reopened', params_from: { pr_url: 'pull_request.html_url' } },
    });
    const reopened = example('pull_request', (p) => p.action === 'reopened');
    await deliver('pull_request', reopened);
    expect(await goalsOf(trigger.id)).toHaveLength(1);
    const removed = await call(app, 'DELETE', `/api/triggers/${trigger.id}`);
    expect(removed.status, removed.text).toBe(200);
    await deliver('pull_request', reopened);
    expect(await goalsOf(trigger.id)).toHaveLength(1);
    expect((await call(app, 'DELETE', `/api/triggers/${trigger.id}`)).status).toBe(404);
    expect((await call(app, 'DELETE', '/api/triggers/not-a-uuid')).status).toBe(404);
  });
});

describe('POST /api/triggers refusals', () => {
  const schedule = { cron: '0 9 * * 1-5', time_zone: 'Europe/Berlin' };
  const fromPr = { event: 'pull_request', params_from: { pr_url: 'pull_request.html_url', pr_title: 'pull_request.title', number: 'pull_request.number' } };
  it.each([
    ['an unknown template', { template: 'nope', params: {}, schedule }, /template "nope" not found/],
    ['neither schedule nor github', { template: 'review-pr', params: {} }, /exactly one of schedule or github/],
    ['both schedule and github', { template: 'review-pr', params: { repo: '/r' }, schedule, github: fromPr }, /exactly one of schedule or github/],
    ['a malformed cron', { template: 'review-pr', params: {}, schedule: { cron: '0 9 * *' } }, /schedule/],
    ['an unknown time zone', { template: 'review-pr', params: {}, schedule: { cron: '0 9 * * *', time_zone: 'Mars/Base' } }, /schedule.*timezone/i],
    ['missing parameters for a schedule', { template: 'review-pr', params: { repo: '/r' }, schedule }, /missing parameters: number, pr_title, pr_url/],
    ['an unknown parameter', { template: 'review-pr', params: { repo: '/r', pr_url: 'u', pr_title: 't', number: 1, colour: 'red' }, schedule }, /unknown parameters: colour/],
    ['a parameter that makes the goal invalid', { template: 'review-pr', params: { repo: 'relative', pr_url: 'u', pr_title: 't', number: 1 }, schedule }, /absolute path/],
    ['params_from naming an undeclared parameter', { template: 'review-pr', params: { repo: '/r' }, github: { ...fromPr, params_from: { ...fromPr.params_from, colour: 'x.y' } } }, /params_from.*colour/],
    ['params_from naming a parameter params sets', { template: 'review-pr', params: { repo: '/r', number: 1 }, github: fromPr }, /params_from.*number/],
    ['params_from with a bad payload path', { template: 'review-pr', params: { repo: '/r' }, github: { ...fromPr, params_from: { pr_url: '../x' } } }, /dotted path/],
    ['a bad event name', { template: 'review-pr', params: { repo: '/r' }, github: { ...fromPr, event: 'Pull Request' } }, /event/],
    ['a github trigger missing a parameter', { template: 'review-pr', params: {}, github: fromPr }, /missing parameters: repo/],
  ])('refuses %s with 422, changing nothing', async (_what, body, pattern) => {
    const before = await tableText(['triggers', 'trigger_runs', 'goals']);
    const res = await call(app, 'POST', '/api/triggers', body);
    expect(res.status, res.text).toBe(422);
    expect(`${res.json.error} ${JSON.stringify(res.json.details ?? [])}`).toMatch(pattern);
    expect(await tableText(['triggers', 'trigger_runs', 'goals'])).toBe(before);
  });

  it('shows a schedule trigger with its next slot', async () => {
    const trigger = await createTrigger({ template: 'review-pr', params: { repo: '/r', pr_url: 'u', pr_title: 't', number: 1 }, schedule });
    const listed = await call(app, 'GET', '/api/triggers');
    const shown = listed.json.triggers.find((t: { id: string }) => t.id === trigger.id);
    expect(shown.schedule).toMatchObject({ cron: '0 9 * * 1-5', time_zone: 'Europe/Berlin' });
    expect(Date.parse(shown.schedule.next_slot)).toBeGreaterThan(Date.now());
    expect(shown.last_run).toBeNull();
  });
});
