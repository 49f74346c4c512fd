import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Db } from '../../server/db/database.js';
import { newTaskToken } from '../../server/sessions/task-token.js';
import { createSession } from '../../server/store/sessions.js';

/** The SDK's own client, connected to Arbor's `/mcp` with a task token. */
export async function connectMcp(baseUrl: string, token: string): Promise<Client> {
  const client = new Client({ name: 'arbor-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

/** A live run of a task, as the runner opens one: a running session with a fresh task token. */
export async function openRun(db: Db, task: { id: string; goalId: string; attempt: number }): Promise<{ sessionId: string; token: string }> {
  const { token, hash } = newTaskToken();
  const session = await createSession(db, {
    id: randomUUID(),
    goalId: task.goalId,
    kind: 'spawned',
    agent: 'command',
    worktreePath: `/tmp/w-${randomUUID()}`,
    branch: 'b',
    baseSha: null,
    taskId: task.id,
    attempt: task.attempt,
    owner: 'test',
    host: 'test',
    tokenHash: hash,
  });
  await db.updateTable('sessions').set({ status: 'running' }).where('id', '=', session.id).execute();
  return { sessionId: session.id, token };
}

/** The text of a tool's answer, and whether it was an error. */
export function toolText(result: unknown): { text: string; isError: boolean } {
  const r = result as { content: { type: string; text: string }[]; isError?: boolean };
  return { text: r.content.map((c) => c.text).join('\n'), isError: r.isError === true };
}
