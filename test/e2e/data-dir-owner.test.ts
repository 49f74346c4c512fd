import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { openEventStream } from '../support/event-stream.js';
import { waitFor } from '../support/orchestration.js';
import { embeddedPostgresPid, launchServer, startServer, useServerDirs } from '../support/server-process.js';

/**
 * One owner per data dir: a second server started on the data dir of a live
 * one waits for it instead of adopting (and then losing) its embedded
 * Postgres; a start that fails stops the Postgres it started.
 */

const { newDataDir, repo } = useServerDirs('arbor-owner-');

const scriptedServer = (dataDir: string, instance: string) => ({
  dataDir,
  entry: 'test/fixtures/arbor-with-scripted-agents.ts',
  env: {
    ARBOR_INSTANCE_ID: instance,
    ARBOR_POLL_INTERVAL_MS: '100',
    ARBOR_RETRY_BASE_MS: '50',
    ARBOR_SPAWN_PER_SECOND: '0',
    ARBOR_AGENT: 'command',
    ARBOR_AGENT_COMMAND: 'true',
    SCRIPTED_AGENT_MS: '700',
  },
});

interface GoalJson {
  goal: { id: string; status: string };
  tasks: { key: string; status: string; error: string | null }[];
}

async function goal(base: string, id: string): Promise<GoalJson> {
  const res = await fetch(`${base}/api/goals/${id}`);
  if (res.status !== 200) throw new Error(`GET goal: ${res.status} ${await res.text()}`);
  return (await res.json()) as GoalJson;
}

const succeeded = (g: GoalJson) => g.tasks.filter((t) => t.status === 'succeeded').length;

describe('one Arbor per data dir', () => {
  it('a second server waits for the first, which keeps its Postgres and work, and then takes over the goal', { timeout: 180_000 }, async () => {
    const dataDir = await newDataDir();
    const first = await startServer(scriptedServer(dataDir, 'owner-first'));
    const steps = Array.from({ length: 8 }, (_, i) => ({ key: `s${i}`, title: `Step ${i}`, max_attempts: 1 }));
    const created = await fetch(`${first.url}/api/goals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'owned', repo: repo(), agent: 'command', tasks: steps }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const goalId = ((await created.json()) as GoalJson).goal.id;
    const stream = await openEventStream(`${first.url}/api/events?goal_id=${goalId}`);
    await stream.waitFor('event: task.');

    const second = launchServer(scriptedServer(dataDir, 'owner-second'));
    const firstMove = await Promise.race([
      second.waitForLog('that it waits for the first', (l) => typeof l.msg === 'string' && l.msg.includes(`pid ${first.pid}`)).then(() => 'waits'),
      second.listening.then(() => 'listens'),
    ]);
    expect(firstMove, second.output()).toBe('waits');

    // The first still owns a working database: its goal moves on while the second waits.
    const before = succeeded(await goal(first.url, goalId));
    await waitFor('a task finished by the first server while the second waits', async () => succeeded(await goal(first.url, goalId)) > before);

    expect(await first.stop('SIGTERM'), first.output()).toEqual({ code: 0, signal: null });
    expect(await stream.closed).toBe('ended');

    const url = await second.listening;
    // It started the cluster the first had stopped; it never adopted one in use.
    expect(second.logLines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('adopting')), second.output()).toBe(false);
    const done = await waitFor('the goal finished on the second server', async () => {
      const g = await goal(url, goalId);
      return ['succeeded', 'failed'].includes(g.goal.status) ? g : undefined;
    }, 60_000);
    expect(done.tasks.filter((t) => t.status !== 'succeeded'), JSON.stringify(done.tasks)).toEqual([]);
    expect(done.goal.status).toBe('succeeded');
    expect(await second.stop('SIGTERM'), second.output()).toEqual({ code: 0, signal: null });
    expect(await embeddedPostgresPid(dataDir)).toBeNull();
  });

  it('a start whose port is taken exits non-zero, stops the Postgres it started and frees the data dir', { timeout: 120_000 }, async () => {
    const dataDir = await newDataDir();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const server = launchServer({ dataDir, env: { PORT: String(port) } });
      expect(await server.exited, server.output()).toEqual({ code: 1, signal: null });
      expect(await embeddedPostgresPid(dataDir), server.output()).toBeNull();
      expect(server.output()).toContain(`127.0.0.1:${port} is already in use`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }

    // The next start has the data dir to itself: it starts Postgres, adopts nothing.
    const next = await startServer({ dataDir });
    expect(next.logLines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('adopting')), next.output()).toBe(false);
    expect(await next.stop('SIGTERM'), next.output()).toEqual({ code: 0, signal: null });
    expect(await embeddedPostgresPid(dataDir)).toBeNull();
  });
});
