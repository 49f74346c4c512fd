import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyGoalCommand } from '../../server/store/goals.js';
import { listDeliveries } from '../../server/store/notifications.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo } from '../support/git-repo.js';
import { waitFor } from '../support/orchestration.js';
import { postGoal } from '../support/goal-requests.js';
import { startNotificationReceiver, type NotificationReceiver, type Receipt } from '../support/notification-receiver.js';
import { REPO_ROOT, killAllServers, startServer, type ServerProcess } from '../support/server-process.js';

/**
 * Notifications from the real server to a real HTTP receiver: a task reaching
 * review is announced in both formats; a target that fails is retried until it
 * takes the delivery; and across a restart (with an event written while no
 * Arbor ran) nothing is lost and nothing is delivered twice.
 */

/** A secret in the Slack target's URL: it must never reach the log. */
const SECRET = 'hook-secret-7f3a9c';

let database: TestDatabase;
let tmp: string;
let repo: string;
let receiver: NotificationReceiver;
let server: ServerProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-notify-')));
  repo = (await createGitRepo({ parent: tmp })).path;
  // /flaky refuses its first two requests: the first delivery to it needs three attempts.
  receiver = await startNotificationReceiver((where, seen) => (where === '/flaky' && seen < 2 ? 503 : 200));
});

afterAll(async () => {
  if (server) await server.stop('SIGTERM').catch(() => undefined);
  await killAllServers();
  await receiver?.close();
  await database?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

function start(): Promise<ServerProcess> {
  return startServer({
    dataDir: path.join(tmp, 'data'),
    databaseUrl: database.url,
    env: {
      ARBOR_AGENT: 'command',
      ARBOR_AGENT_COMMAND: `node ${path.join(REPO_ROOT, 'examples/agent.mjs')}`,
      ARBOR_WORKTREE_ROOT: path.join(tmp, 'worktrees'),
      ARBOR_POLL_INTERVAL_MS: '100',
      ARBOR_SPAWN_PER_SECOND: '0',
      ARBOR_NOTIFY_URLS: `${receiver.url}/json, slack:${receiver.url}/slack?token=${SECRET},${receiver.url}/flaky`,
      ARBOR_NOTIFY_RETRY_BASE_MS: '50',
    },
  });
}

function reviewGoal(title: string) {
  return {
    title,
    repo,
    base_ref: 'main',
    agent: 'command',
    tasks: [
      { key: 'build', title: 'Build', instructions: 'Write a note.' },
      { key: 'ok', title: 'Sign-off', kind: 'human_review', depends_on: ['build'] },
    ],
  };
}

// Links point at the server's own address (no ARBOR_PUBLIC_URL here), which changes with each start.
const LINK = /^http:\/\/127\.0\.0\.1:\d+\//;
const jsonFor = (kind: string, id: string) => (r: Receipt) =>
  r.path === '/json' && r.body.kind === kind && LINK.test(String(r.body.url)) && String(r.body.url).endsWith(`/${id}`);
const slackFor = (id: string) => (r: Receipt) => r.path === '/slack' && new RegExp(`<http://127\\.0\\.0\\.1:\\d+/${id}\\|Open in Arbor>$`).test(String(r.body.text));
const flakyFor = (kind: string, id: string) => (r: Receipt) => r.path === '/flaky' && r.status === 200 && jsonFor(kind, id)({ ...r, path: '/json' });

it('announces a task reaching review in both formats, retries a failing target, and loses or repeats nothing across a restart', { timeout: 240_000 }, async () => {
  server = await start();

  // A task reaching review: the generic JSON body and Slack's text, each with a link to the task.
  const first = await postGoal(server.url, reviewGoal('Ship the thing'));
  const review = first.tasks.find((t) => t.key === 'ok')!;
  const json = await receiver.waitFor('a JSON review notification', jsonFor('task.review', `tasks/${review.id}`));
  expect(json.body).toMatchObject({
    kind: 'task.review',
    text: 'Review needed: task ok (Sign-off) of goal "Ship the thing"',
    goal: { id: first.goal.id, title: 'Ship the thing' },
    task: { id: review.id, key: 'ok', title: 'Sign-off' },
  });
  const slack = await receiver.waitFor('a Slack review notification', slackFor(`tasks/${review.id}`));
  expect(slack.body).toEqual({ text: `Review needed: task ok (Sign-off) of goal "Ship the thing" <${server.url}/tasks/${review.id}|Open in Arbor>` });

  // The failing target is retried from the database until it takes the delivery.
  await receiver.waitFor('the review notification on the flaky target, at last', flakyFor('task.review', `tasks/${review.id}`));
  expect(receiver.receipts.filter((r) => r.path === '/flaky').map((r) => r.status).slice(0, 3)).toEqual([503, 503, 200]);

  // A second goal reaches review; then Arbor stops, and the goal is cancelled while none runs.
  const second = await postGoal(server.url, reviewGoal('Second thing'));
  const secondReview = second.tasks.find((t) => t.key === 'ok')!;
  await receiver.waitFor('the second review notification', jsonFor('task.review', `tasks/${secondReview.id}`));
  expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  const firstOutput = server.output();
  expect(await applyGoalCommand(database.db, second.goal.id, 'cancel')).toMatchObject({ outcome: 'applied' });

  // Started again, it announces what happened while it was down, to every target.
  server = await start();
  await receiver.waitFor('the cancel on the JSON target', jsonFor('goal.cancelled', `goals/${second.goal.id}`));
  await receiver.waitFor('the cancel on the Slack target', slackFor(`goals/${second.goal.id}`));
  await receiver.waitFor('the cancel on the flaky target', flakyFor('goal.cancelled', `goals/${second.goal.id}`));

  // Each (event, target) row delivered, and the receiver took each exactly once.
  // (the receiver answers before the server records the answer)
  const rows = await waitFor('every delivery recorded as delivered', async () => {
    const all = await listDeliveries(database.db);
    return all.every((r) => r.status === 'delivered') && all;
  });
  const kinds = rows.filter((r) => r.payload.url !== undefined).map((r) => r.kind).sort();
  expect(kinds).toEqual(['goal.cancelled', 'goal.cancelled', 'task.review', 'task.review', 'task.review', 'task.review']);
  expect(rows).toHaveLength(9);
  const taken = receiver.receipts.filter((r) => r.status === 200);
  expect(taken).toHaveLength(rows.length);
  for (const target of ['/json', '/flaky']) {
    const ids = taken.filter((r) => r.path === target).map((r) => r.body.event_id);
    expect(new Set(ids).size, `${target} took an event twice: ${ids.join(', ')}`).toBe(ids.length);
  }
  const texts = taken.filter((r) => r.path === '/slack').map((r) => r.body.text);
  expect(new Set(texts).size).toBe(texts.length);
  // Every attempt reached the receiver: attempts in the rows add up to the requests it saw.
  expect(rows.reduce((sum, r) => sum + r.attempts, 0)).toBe(receiver.receipts.length);

  // The Slack URL's secret is in no log line; the target's host is.
  const output = firstOutput + server.output();
  expect(output).not.toContain(SECRET);
  expect(output).toContain('slack:127.0.0.1:');
});
