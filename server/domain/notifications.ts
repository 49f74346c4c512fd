/**
 * When Arbor tells a person something, what it says, and how a failed
 * delivery is retried. Pure: the notifier (server/notifications) does the I/O.
 */

export const NOTIFICATION_FORMATS = ['json', 'slack'] as const;
export type NotificationFormat = (typeof NOTIFICATION_FORMATS)[number];

/** Where notifications go. `url` may carry a secret (a Slack webhook's path): log `host` only. */
export interface NotificationTarget {
  format: NotificationFormat;
  url: string;
  host: string;
}

/** What a notification is about: a task that needs a person, or a goal that ended. */
export const NOTIFICATION_KINDS = [
  'task.review',
  'task.blocked',
  'task.failed',
  'goal.succeeded',
  'goal.failed',
  'goal.cancelled',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Only these event types can lead to a notification: the store reads no others. */
export const NOTIFYING_EVENT_TYPES = ['task.status_changed', 'goal.status_changed'] as const;

/** An event from the log with what a person needs to read it. */
export interface NotifiableEvent {
  id: string;
  type: string;
  at: Date;
  data: Record<string, unknown>;
  goalId: string | null;
  goalTitle: string | null;
  taskId: string | null;
  taskKey: string | null;
  taskTitle: string | null;
  taskKind: string | null;
  /** The task's error (failed) or block reason, as stored. */
  taskError: string | null;
  attempt: number | null;
}

/**
 * Events older than this are not announced: when notifications are switched on
 * again after a long pause, a person wants today's news, not a replay of the week.
 */
export const NOTIFICATION_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Which notification an event calls for, if any. A group's failure is left
 * out: the child that failed has said so already, and the goal will too.
 */
export function notificationFor(event: NotifiableEvent, now: Date): NotificationKind | null {
  if (now.getTime() - event.at.getTime() > NOTIFICATION_MAX_AGE_MS) return null;
  const to = event.data.to;
  if (event.type === 'task.status_changed') {
    if (event.taskId === null || event.goalId === null) return null;
    // A status change that is not a change (a running task waiting for its subtasks) is nothing new.
    if (event.data.from === to) return null;
    if (to === 'review') return 'task.review';
    if (to === 'blocked') return 'task.blocked';
    if (to === 'failed' && event.taskKind !== 'group') return 'task.failed';
    return null;
  }
  if (event.type === 'goal.status_changed') {
    if (event.goalId === null) return null;
    if (to === 'succeeded') return 'goal.succeeded';
    if (to === 'failed') return 'goal.failed';
    if (to === 'cancelled') return 'goal.cancelled';
  }
  return null;
}

/** Longer text (an agent's error can be pages) is cut here: a notification is a pointer, not the log. */
const DETAIL_MAX_CHARS = 500;

function detail(text: string | null): string | null {
  if (text === null || text.trim() === '') return null;
  const flat = text.trim();
  return flat.length > DETAIL_MAX_CHARS ? `${flat.slice(0, DETAIL_MAX_CHARS - 1)}…` : flat;
}

/** The dashboard page a notification points at: the task for a task's news, the goal for a goal's. */
export function notificationLink(kind: NotificationKind, event: NotifiableEvent, publicUrl: string): string {
  const base = publicUrl.replace(/\/+$/, '');
  return kind.startsWith('task.') ? `${base}/tasks/${event.taskId}` : `${base}/goals/${event.goalId}`;
}

/** One readable line, the same in every format. */
export function notificationLine(kind: NotificationKind, event: NotifiableEvent): string {
  const goal = `goal "${event.goalTitle ?? event.goalId}"`;
  const task = `task ${event.taskKey ?? event.taskId}${event.taskTitle ? ` (${event.taskTitle})` : ''}`;
  const why = detail(event.taskError);
  switch (kind) {
    case 'task.review':
      return `Review needed: ${task} of ${goal}`;
    case 'task.blocked':
      return `Blocked: ${task} of ${goal}${why ? `: ${why}` : ''}`;
    case 'task.failed':
      return `Failed: ${task} of ${goal}${event.attempt ? ` after attempt ${event.attempt}` : ''}${why ? `: ${why}` : ''}`;
    case 'goal.succeeded':
      return `Goal succeeded: "${event.goalTitle ?? event.goalId}"`;
    case 'goal.failed':
      return `Goal failed: "${event.goalTitle ?? event.goalId}"`;
    case 'goal.cancelled':
      return `Goal cancelled: "${event.goalTitle ?? event.goalId}"`;
  }
}

/** Slack's mrkdwn treats these three as markup; everything else goes through as written. */
function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * The body POSTed to a target. `slack`: an incoming webhook's `{text}` with a
 * link. `json`: the same line and link, and the facts for a program to act on.
 */
export function notificationPayload(
  format: NotificationFormat,
  kind: NotificationKind,
  event: NotifiableEvent,
  publicUrl: string,
): Record<string, unknown> {
  const line = notificationLine(kind, event);
  const url = notificationLink(kind, event, publicUrl);
  if (format === 'slack') return { text: `${slackEscape(line)} <${url}|Open in Arbor>` };
  return {
    kind,
    text: line,
    url,
    event_id: event.id,
    at: event.at.toISOString(),
    goal: { id: event.goalId, title: event.goalTitle },
    task: event.taskId === null ? null : { id: event.taskId, key: event.taskKey, title: event.taskTitle, attempt: event.attempt, error: detail(event.taskError) },
  };
}

/** What a delivery's answer means: done, try again later, or never going to work. */
export type DeliveryVerdict = 'delivered' | 'retry' | 'give_up';

/**
 * `status` null: no answer (refused, timed out, reset). A 4xx says the request
 * itself is wrong (a revoked webhook, a bad path): sending it again will not
 * help, except 408 (timeout) and 429 (slow down), which say "later".
 */
export function deliveryVerdict(status: number | null): DeliveryVerdict {
  if (status === null) return 'retry';
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429) return 'retry';
  if (status >= 400 && status < 500) return 'give_up';
  return 'retry';
}

export interface DeliveryBackoff {
  baseMs: number;
  maxMs: number;
}

/**
 * The wait before attempt `attempts + 1`, after `attempts` failed ones:
 * doubling from `baseMs`, at most `maxMs`. A receiver's Retry-After is
 * honoured when it asks for longer (still capped, so one bad header cannot
 * park a delivery for days).
 */
export function deliveryBackoffMs(attempts: number, backoff: DeliveryBackoff, retryAfterMs?: number | null): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  const doubled = Math.min(backoff.baseMs * 2 ** exponent, backoff.maxMs);
  return retryAfterMs != null && retryAfterMs > doubled ? Math.min(retryAfterMs, backoff.maxMs) : doubled;
}

/** A Retry-After header (seconds, or an HTTP date) in milliseconds from `now`; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: Date): number | null {
  if (header === null || header.trim() === '') return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(at - now.getTime(), 0);
}

/**
 * ARBOR_NOTIFY_URLS: a comma list; an entry is a URL (generic JSON) or
 * `slack:` then a URL (Slack's incoming-webhook text). A comma inside a URL is
 * written `%2C`. Returns the targets, or the problems found.
 */
export function parseNotificationTargets(value: string): { targets: NotificationTarget[]; problems: string[] } {
  const targets: NotificationTarget[] = [];
  const problems: string[] = [];
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  entries.forEach((entry, index) => {
    let format: NotificationFormat = 'json';
    let rest = entry;
    const prefix = /^(slack|json):(?!\/\/)/i.exec(entry);
    if (prefix) {
      format = prefix[1]!.toLowerCase() as NotificationFormat;
      rest = entry.slice(prefix[0].length);
    }
    let url: URL;
    try {
      url = new URL(rest);
    } catch {
      // Never the entry itself: it may be a secret.
      problems.push(`entry ${index + 1} is not a URL (expected http(s)://… or slack:https://…)`);
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push(`entry ${index + 1} is a ${url.protocol} URL; only http and https are posted to`);
      return;
    }
    targets.push({ format, url: url.toString(), host: url.host });
  });
  return { targets, problems };
}
