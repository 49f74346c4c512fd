import { describe, expect, it } from 'vitest';
import { openEventStream, reconnect } from '../support/event-stream.js';
import { waitFor } from '../support/orchestration.js';
import { embeddedPostgresPid, startServer, useServerDirs } from '../support/server-process.js';

/**
 * The real server on its own embedded Postgres: SIGTERM ends every open
 * stream at once and exits cleanly, and a Postgres killed under a running
 * server is brought back.
 */

const { newDataDir, repo } = useServerDirs('arbor-stop-');

describe('stopping and supervising the server', () => {
  it('SIGTERM ends the event and session-log streams, refuses their reconnects and exits 0 with Postgres stopped', { timeout: 120_000 }, async () => {
    const dataDir = await newDataDir();
    const server = await startServer({
      dataDir,
      env: { ARBOR_AGENT: 'command', ARBOR_AGENT_COMMAND: 'sleep 60', ARBOR_POLL_INTERVAL_MS: '100', ARBOR_SPAWN_PER_SECOND: '0' },
    });
    const created = await fetch(`${server.url}/api/goals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'long', repo: repo(), agent: 'command', tasks: [{ key: 'work', title: 'Work' }] }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const goalId = ((await created.json()) as { goal: { id: string } }).goal.id;
    const sessionId = await waitFor('the agent session', async () => {
      const res = await fetch(`${server.url}/api/sessions?goal_id=${goalId}`);
      const { sessions } = (await res.json()) as { sessions: { id: string; status: string }[] };
      return sessions.find((s) => s.status === 'running')?.id;
    });

    const eventsUrl = `${server.url}/api/events`;
    const logsUrl = `${server.url}/api/sessions/${sessionId}/logs`;
    const events = await openEventStream(eventsUrl);
    await events.waitFor(': connected');
    const logs = await openEventStream(logsUrl);

    const exit = server.stop('SIGTERM');
    expect(await events.closed).toBe('ended');
    expect(await logs.closed).toBe('ended');
    // A client reconnecting at once (EventSource does) gets no new stream that would hold the shutdown up.
    expect(await reconnect(eventsUrl)).not.toBe(200);
    expect(await reconnect(logsUrl)).not.toBe(200);

    expect(await exit, server.output()).toEqual({ code: 0, signal: null });
    expect(await embeddedPostgresPid(dataDir)).toBeNull();
  });

  it('restarts its embedded Postgres when it is killed, and serves again', { timeout: 120_000 }, async () => {
    const dataDir = await newDataDir();
    const server = await startServer({ dataDir });
    const postmaster = await embeddedPostgresPid(dataDir);
    expect(postmaster).not.toBeNull();
    process.kill(postmaster!, 'SIGKILL');

    await server.waitForLog("'embedded Postgres restarted'", (l) => l.msg === 'embedded Postgres restarted', 30_000);
    expect(await embeddedPostgresPid(dataDir)).not.toBe(postmaster);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await waitFor('readiness after the restart', async () => (await fetch(`${server.url}/readyz`)).status === 200);
    expect((await fetch(`${server.url}/api/goals`)).status).toBe(200);

    expect(await server.stop('SIGTERM'), server.output()).toEqual({ code: 0, signal: null });
    expect(await embeddedPostgresPid(dataDir)).toBeNull();
  });
});
