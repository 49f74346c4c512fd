import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NotificationListener } from '../../server/db/notification-listener.js';
import { createApp } from '../../server/http/app.js';
import { createLogger } from '../../server/logger.js';
import { EVENTS_CHANNEL, appendEvents } from '../../server/store/events.js';
import { applyGoalCommand } from '../../server/store/goals.js';
import { call, testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal, waitFor } from '../support/orchestration.js';

let database: TestDatabase;
let notifications: NotificationListener;
/** Follows live on NOTIFY, as the server does. */
let app: ReturnType<typeof testApp>;
/** No notifications: follows by polling. */
let pollingApp: ReturnType<typeof testApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  notifications = new NotificationListener(database.url, EVENTS_CHANNEL, createLogger('silent'));
  await notifications.start();
  app = createApp({ db: database.db, logger: createLogger('silent'), config: testConfig(), notifications });
  pollingApp = testApp(database.db);
});
afterAll(async () => {
  await notifications.stop();
  await database.destroy();
});

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comments: string[];
}

/** Reads an SSE body message by message, each read bounded by a timeout. */
class SseReader {
  private buffer = '';
  private readonly decoder = new TextDecoder();
  private pending: ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> | null = null;

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  async next(timeoutMs = 10_000): Promise<SseMessage> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return parseMessage(block);
      }
      // A read that outlives a timeout is kept for the next call, so no bytes are lost.
      this.pending ??= this.reader.read();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no SSE message within ${timeoutMs} ms`)), timeoutMs);
      });
      const result = await Promise.race([this.pending, timeout]).finally(() => clearTimeout(timer));
      this.pending = null;
      if (result.done) throw new Error('the stream ended');
      this.buffer += this.decoder.decode(result.value, { stream: true });
    }
  }

  /** The next event, skipping comments (keep-alives). */
  async nextEvent(timeoutMs?: number): Promise<{ id: string; event: string; json: any }> {
    for (;;) {
      const message = await this.next(timeoutMs);
      if (message.data !== undefined) return { id: message.id!, event: message.event!, json: JSON.parse(message.data) };
    }
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

function parseMessage(block: string): SseMessage {
  const message: SseMessage = { comments: [] };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) message.comments.push(line.slice(1).trim());
    else if (line.startsWith('id: ')) message.id = line.slice(4);
    else if (line.startsWith('event: ')) message.event = line.slice(7);
    else if (line.startsWith('data: ')) message.data = (message.data === undefined ? '' : `${message.data}\n`) + line.slice(6);
  }
  return message;
}

const open: SseReader[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.cancel().catch(() => {})));
});

/** Opens a stream and waits until it says it is following. */
async function openStream(query = '', headers: Record<string, string> = {}, on = app) {
  const res = await on.request(`/api/events${query}`, { headers: { accept: 'text/event-stream', ...headers } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const sse = new SseReader(res.body!.getReader());
  open.push(sse);
  expect(await sse.next()).toEqual({ comments: ['connected'] });
  return sse;
}

async function newGoal(title = 'events') {
  return (await createGoal(database.db, [{ key: 'a', title: 'A' }], { title })).goal;
}

async function goalEvents(goalId: string) {
  const res = await call(app, 'GET', `/api/events?goal_id=${goalId}&limit=1000`);
  expect(res.status).toBe(200);
  return res.json.events as { id: string; type: string; data: Record<string, unknown> }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('GET /api/events as JSON pages', () => {
  it('answers JSON unless the client asks for a stream, oldest first, in pages', async () => {
    const goal = await newGoal();
    await applyGoalCommand(database.db, goal.id, 'pause');
    await applyGoalCommand(database.db, goal.id, 'resume');

    const all = await call(app, 'GET', `/api/events?goal_id=${goal.id}`);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toMatch(/application\/json/);
    expect(all.json.events.map((e: any) => [e.type, e.data.to])).toEqual([
      ['goal.created', undefined],
      ['goal.status_changed', 'paused'],
      ['goal.status_changed', 'running'],
    ]);
    expect(all.json.events[1]).toEqual({
      id: expect.stringMatching(/^\d+$/),
      type: 'goal.status_changed',
      goal_id: goal.id,
      task_id: null,
      session_id: null,
      signal_id: null,
      data: { from: 'pending', to: 'paused', reason: 'pause' },
      at: expect.any(String),
    });
    const ids = all.json.events.map((e: any) => BigInt(e.id));
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);

    const first = await call(app, 'GET', `/api/events?goal_id=${goal.id}&limit=2`, undefined, { accept: 'application/json' });
    expect(first.json.events).toEqual(all.json.events.slice(0, 2));
    expect(first.json.next_after).toBe(all.json.events[1].id);
    const second = await call(app, 'GET', `/api/events?goal_id=${goal.id}&limit=2&after=${first.json.next_after}`);
    expect(second.json.events).toEqual(all.json.events.slice(2));
    const third = await call(app, 'GET', `/api/events?goal_id=${goal.id}&after=${second.json.next_after}`);
    expect(third.json).toEqual({ events: [], next_after: second.json.next_after });

    // Without a goal: every goal's events, the same order.
    const everything = await call(app, 'GET', `/api/events?limit=1000`);
    expect(everything.json.events.filter((e: any) => e.goal_id === goal.id)).toEqual(all.json.events);
  });

  it('422 for a malformed goal id or event id; 404 for an unknown goal, before any stream starts', async () => {
    for (const accept of ['application/json', 'text/event-stream']) {
      const bad = await call(app, 'GET', '/api/events?goal_id=nope', undefined, { accept });
      expect(bad.status).toBe(422);
      expect(bad.json).toMatchObject({ error: expect.stringMatching(/goal_id/), request_id: expect.any(String) });
      expect((await call(app, 'GET', '/api/events?after=-1', undefined, { accept })).status).toBe(422);
      expect((await call(app, 'GET', '/api/events?after=99999999999999999999', undefined, { accept })).status).toBe(422);
      expect((await call(app, 'GET', '/api/events', undefined, { accept, 'last-event-id': 'x' })).status).toBe(422);

      const missing = await call(app, 'GET', '/api/events?goal_id=00000000-0000-4000-8000-000000000000', undefined, { accept });
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toMatch(/application\/json/);
      expect(missing.json.error).toBe('goal not found');
    }
  });

  it('is in the OpenAPI document with both forms', async () => {
    const doc = (await call(app, 'GET', '/openapi.json')).json;
    const get = doc.paths['/api/events'].get;
    expect(Object.keys(get.responses['200'].content).sort()).toEqual(['application/json', 'text/event-stream']);
    expect(get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['goal_id', 'after', 'limit', 'last-event-id']));
    expect(get.responses).toHaveProperty('404');
    expect(get.responses).toHaveProperty('422');
  });
});

describe('GET /api/events as Server-Sent Events', () => {
  it('resumes after Last-Event-ID with exactly the later events, then follows live', async () => {
    const goal = await newGoal();
    await applyGoalCommand(database.db, goal.id, 'pause');
    await applyGoalCommand(database.db, goal.id, 'resume');
    const [created, paused, resumed] = await goalEvents(goal.id);

    const sse = await openStream(`?goal_id=${goal.id}`, { 'last-event-id': created!.id });
    const first = await sse.nextEvent();
    expect(first).toEqual({ id: paused!.id, event: 'goal.status_changed', json: paused });
    expect((await sse.nextEvent()).id).toBe(resumed!.id);

    // The very next event is the live one: nothing extra came before it.
    await applyGoalCommand(database.db, goal.id, 'cancel');
    const live = await sse.nextEvent();
    expect(live.event).toBe('goal.status_changed');
    expect(live.json).toMatchObject({ goal_id: goal.id, data: { from: 'running', to: 'cancelled' } });
    expect(BigInt(live.id) > BigInt(resumed!.id)).toBe(true);
  });

  it('takes ?after= too, and Last-Event-ID over it (an EventSource reconnects with both)', async () => {
    const goal = await newGoal();
    await applyGoalCommand(database.db, goal.id, 'pause');
    await applyGoalCommand(database.db, goal.id, 'resume');
    const [created, paused, resumed] = await goalEvents(goal.id);

    const byQuery = await openStream(`?goal_id=${goal.id}&after=${created!.id}`);
    expect((await byQuery.nextEvent()).id).toBe(paused!.id);
    const both = await openStream(`?goal_id=${goal.id}&after=${created!.id}`, { 'last-event-id': paused!.id });
    expect((await both.nextEvent()).id).toBe(resumed!.id);
  });

  it('sends only the events of the goal asked for', async () => {
    const mine = await newGoal('mine');
    const other = await newGoal('other');
    const filtered = await openStream(`?goal_id=${mine.id}`);
    const everything = await openStream();

    await applyGoalCommand(database.db, other.id, 'pause');
    await applyGoalCommand(database.db, mine.id, 'pause');

    const event = await filtered.nextEvent();
    expect(event.json).toMatchObject({ goal_id: mine.id, data: { to: 'paused' } });
    const seen = [(await everything.nextEvent()).json.goal_id, (await everything.nextEvent()).json.goal_id];
    expect(seen).toEqual([other.id, mine.id]);
  });

  it('starts at the current end without a resume point, delivers a live change, and lets go on disconnect', async () => {
    const goal = await newGoal();
    const before = notifications.listenerCount('notification');
    const sse = await openStream(`?goal_id=${goal.id}`);
    expect(notifications.listenerCount('notification')).toBe(before + 1);

    await applyGoalCommand(database.db, goal.id, 'pause');
    const event = await sse.nextEvent();
    // goal.created happened before the stream opened: not sent.
    expect(event.event).toBe('goal.status_changed');
    expect(event.json).toMatchObject({ goal_id: goal.id, data: { from: 'pending', to: 'paused' } });

    await sse.cancel();
    await waitFor('the stream to unsubscribe', () => notifications.listenerCount('notification') === before);
    expect(notifications.listenerCount('reconnected')).toBe(0);
  });

  it('follows by polling when the app has no notifications', async () => {
    const goal = await newGoal();
    const sse = await openStream(`?goal_id=${goal.id}`, {}, pollingApp);
    await applyGoalCommand(database.db, goal.id, 'pause');
    expect((await sse.nextEvent()).json).toMatchObject({ goal_id: goal.id, data: { to: 'paused' } });
  });

  it('never skips an event whose transaction commits after a later id became visible', async () => {
    const slow = await newGoal('slow');
    const fast = await newGoal('fast');
    const sse = await openStream();

    // A transaction draws an event id and stays open...
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let drawn!: () => void;
    const hasDrawn = new Promise<void>((resolve) => (drawn = resolve));
    const held = database.db.transaction().execute(async (trx) => {
      await appendEvents(trx, [{ type: 'goal.status_changed', goalId: slow.id, data: { note: 'held' } }]);
      drawn();
      await gate;
    });
    await hasDrawn;
    // ...while a later id commits and is announced.
    await applyGoalCommand(database.db, fast.id, 'pause');
    const page = call(app, 'GET', `/api/events?after=0&limit=1000`);
    await sleep(300); // room for a follower that would jump ahead
    release();
    await held;

    const first = await sse.nextEvent();
    const second = await sse.nextEvent();
    expect([first.json.goal_id, second.json.goal_id]).toEqual([slow.id, fast.id]);
    expect(first.json.data).toEqual({ note: 'held' });
    expect(BigInt(first.id) < BigInt(second.id)).toBe(true);

    // The JSON page waited too: both, in id order.
    const events = (await page).json.events.filter((e: any) => [slow.id, fast.id].includes(e.goal_id) && e.type !== 'goal.created');
    expect(events.map((e: any) => e.id)).toEqual([first.id, second.id]);
  });
});
