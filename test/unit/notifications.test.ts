import { describe, expect, it } from 'vitest';
import {
  deliveryBackoffMs,
  deliveryVerdict,
  notificationFor,
  notificationPayload,
  parseNotificationTargets,
  retryAfterMs,
  type NotifiableEvent,
} from '../../server/domain/notifications.js';
import { ConfigError, loadConfig } from '../../server/config.js';

const NOW = new Date('2026-05-01T12:00:00Z');

function event(overrides: Partial<NotifiableEvent> = {}): NotifiableEvent {
  return {
    id: '42',
    type: 'task.status_changed',
    at: new Date(NOW.getTime() - 1000),
    data: { from: 'running', to: 'review' },
    goalId: 'g-1',
    goalTitle: 'Add dark mode',
    taskId: 't-1',
    taskKey: 'ok',
    taskTitle: 'Sign-off',
    taskKind: 'human_review',
    taskError: null,
    attempt: 1,
    ...overrides,
  };
}

describe('which events call for a person', () => {
  it.each([
    ['review', 'task.review'],
    ['blocked', 'task.blocked'],
    ['failed', 'task.failed'],
  ])('a task reaching %s', (to, kind) => {
    expect(notificationFor(event({ data: { from: 'running', to }, taskKind: 'agent' }), NOW)).toBe(kind);
  });

  it.each(['pending', 'running', 'waiting', 'succeeded', 'skipped', 'cancelled'])('not a task reaching %s', (to) => {
    expect(notificationFor(event({ data: { from: 'pending', to }, taskKind: 'agent' }), NOW)).toBeNull();
  });

  it('not a group that failed (its child and the goal say so)', () => {
    expect(notificationFor(event({ data: { from: 'running', to: 'failed' }, taskKind: 'group' }), NOW)).toBeNull();
  });

  it('not a change that is no change', () => {
    expect(notificationFor(event({ data: { from: 'review', to: 'review' } }), NOW)).toBeNull();
  });

  it.each([
    ['succeeded', 'goal.succeeded'],
    ['failed', 'goal.failed'],
    ['cancelled', 'goal.cancelled'],
  ])('a goal that %s', (to, kind) => {
    expect(notificationFor(event({ type: 'goal.status_changed', taskId: null, data: { to } }), NOW)).toBe(kind);
  });

  it.each(['running', 'paused', 'pending'])('not a goal that is now %s', (to) => {
    expect(notificationFor(event({ type: 'goal.status_changed', taskId: null, data: { to } }), NOW)).toBeNull();
  });

  it('not other event types, nor old news', () => {
    expect(notificationFor(event({ type: 'session.ended' }), NOW)).toBeNull();
    expect(notificationFor(event({ at: new Date(NOW.getTime() - 25 * 3600_000) }), NOW)).toBeNull();
  });
});

describe('payloads', () => {
  it('slack: a readable line with a link to the task', () => {
    const body = notificationPayload('slack', 'task.review', event(), 'https://arbor.example/');
    expect(body).toEqual({ text: 'Review needed: task ok (Sign-off) of goal "Add dark mode" <https://arbor.example/tasks/t-1|Open in Arbor>' });
  });

  it("slack: the user's text cannot break out of the markup", () => {
    const body = notificationPayload('slack', 'goal.failed', event({ goalTitle: '<!channel> & co' }), 'http://h');
    expect(body.text).toBe('Goal failed: "&lt;!channel&gt; &amp; co" <http://h/goals/g-1|Open in Arbor>');
  });

  it('json: the line, the link and the facts', () => {
    const body = notificationPayload('json', 'task.failed', event({ data: { to: 'failed' }, taskError: 'x'.repeat(900), attempt: 3 }), 'http://h');
    expect(body).toMatchObject({ kind: 'task.failed', url: 'http://h/tasks/t-1', event_id: '42', goal: { id: 'g-1', title: 'Add dark mode' } });
    expect(body.text).toMatch(/^Failed: task ok \(Sign-off\) of goal "Add dark mode" after attempt 3: x+…$/);
    expect((body.task as { error: string }).error).toHaveLength(500);
  });

  it('a goal notification links to the goal', () => {
    const body = notificationPayload('json', 'goal.succeeded', event({ type: 'goal.status_changed', taskId: null }), 'http://h');
    expect(body).toMatchObject({ url: 'http://h/goals/g-1', text: 'Goal succeeded: "Add dark mode"', task: null });
  });
});

describe('delivery', () => {
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [null, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [408, 'retry'],
    [429, 'retry'],
    [400, 'give_up'],
    [404, 'give_up'],
    [410, 'give_up'],
  ] as const)('an answer of %s: %s', (status, verdict) => {
    expect(deliveryVerdict(status)).toBe(verdict);
  });

  it('backs off doubling, capped, honouring a longer Retry-After', () => {
    const backoff = { baseMs: 1000, maxMs: 60_000 };
    expect([1, 2, 3, 4, 7, 50].map((n) => deliveryBackoffMs(n, backoff))).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000]);
    expect(deliveryBackoffMs(1, backoff, 30_000)).toBe(30_000);
    expect(deliveryBackoffMs(3, backoff, 10)).toBe(4000);
    expect(deliveryBackoffMs(1, backoff, 86_400_000)).toBe(60_000);
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('120', NOW)).toBe(120_000);
    expect(retryAfterMs(new Date(NOW.getTime() + 5000).toUTCString(), NOW)).toBe(5000);
    expect(retryAfterMs(null, NOW)).toBeNull();
    expect(retryAfterMs('soon', NOW)).toBeNull();
  });
});

describe('ARBOR_NOTIFY_URLS', () => {
  it('reads plain URLs as JSON targets and slack: ones as Slack', () => {
    const { targets, problems } = parseNotificationTargets(' https://hooks.example/a , slack:https://hooks.slack.com/services/T/B/secret,,json:http://127.0.0.1:9/x?a=1%2C2');
    expect(problems).toEqual([]);
    expect(targets).toEqual([
      { format: 'json', url: 'https://hooks.example/a', host: 'hooks.example' },
      { format: 'slack', url: 'https://hooks.slack.com/services/T/B/secret', host: 'hooks.slack.com' },
      { format: 'json', url: 'http://127.0.0.1:9/x?a=1%2C2', host: '127.0.0.1:9' },
    ]);
    expect(parseNotificationTargets('')).toEqual({ targets: [], problems: [] });
  });

  it('says which entry is wrong without repeating it', () => {
    const { problems } = parseNotificationTargets('https://ok.example,slack:not-a-url-secret,ftp://files.example/x');
    expect(problems).toEqual([
      'entry 2 is not a URL (expected http(s)://… or slack:https://…)',
      'entry 3 is a ftp: URL; only http and https are posted to',
    ]);
    expect(problems.join(' ')).not.toContain('secret');
  });
});

describe('ARBOR_NOTIFY_URLS in the configuration', () => {
  it('is read into targets and kept from agents', () => {
    const config = loadConfig({ ARBOR_NOTIFY_URLS: 'slack:https://hooks.slack.com/services/T/B/s3cret', PATH: '/usr/bin' });
    expect(config.notifications.targets).toEqual([{ format: 'slack', url: 'https://hooks.slack.com/services/T/B/s3cret', host: 'hooks.slack.com' }]);
    expect(config.sessions.baseEnv).toEqual({ PATH: '/usr/bin' });
  });

  it('stops the start with a message that names the entry, not its secret', () => {
    expect(() => loadConfig({ ARBOR_NOTIFY_URLS: 'https://ok.example,hooks.slack.com/s3cret' })).toThrow(ConfigError);
    expect(() => loadConfig({ ARBOR_NOTIFY_URLS: 'https://ok.example,hooks.slack.com/s3cret' })).toThrow(/ARBOR_NOTIFY_URLS: entry 2 is not a URL/);
    expect(() => loadConfig({ ARBOR_NOTIFY_URLS: 'hooks.slack.com/s3cret' })).not.toThrow(/s3cret/);
  });
});
