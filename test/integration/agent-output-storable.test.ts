import { tmpdir } from 'node:os';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { childEnvironment, startAgentProcess } from '../../server/sessions/agent-process.js';
import { ClaudeStreamParser, type AgentOutputParser } from '../../server/sessions/agents/index.js';
import { SessionLog } from '../../server/sessions/session-log.js';
import { readSessionLogs } from '../../server/store/sessions.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createTestSession } from '../support/sessions.js';

/**
 * Agent output is whatever bytes an agent prints. A real process prints NUL
 * bytes, bytes that are no UTF-8 (a CESU-encoded lone surrogate), and JSON
 * events whose escapes decode to NUL and lone surrogates; every line must reach
 * the session log, and what the parser reports must be storable as jsonb.
 */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.destroy());

const newSession = () => createTestSession(database.db);

/** Runs `script` under sh the way a session runs its agent: lines through `parser` into the session log. */
async function runAgent(script: string, parser: AgentOutputParser) {
  const session = await newSession();
  const log = new SessionLog(database.db, session.id, { maxLines: 10_000, logger: createLogger('silent') });
  const agent = startAgentProcess({
    file: '/bin/sh',
    args: ['-c', script],
    cwd: tmpdir(),
    env: childEnvironment(process.env, {}),
    stdin: '',
    timeoutMs: 0,
    stallMs: 0,
    killGraceMs: 5_000,
    onLine(stream, line) {
      const rendered = parser.line(stream, line);
      log.push(rendered.stream, rendered.text);
    },
  });
  expect(await agent.done).toMatchObject({ reason: 'exited', exitCode: 0 });
  await log.flush();
  const lines = await readSessionLogs(database.db, session.id, { after: 0, limit: 100 });
  return lines.map((l) => l.text);
}

it('stores every line of an agent that prints NUL bytes and broken UTF-8', async () => {
  const lines = await runAgent(
    // printf's octal escapes: \0 is NUL, \355\240\200 is U+D800 encoded as if it were a character.
    String.raw`printf 'a\0b\n'; printf 'c\355\240\200d\n'; printf '\0\0\n'; printf 'tail\0'`,
    new ClaudeStreamParser(),
  );
  expect(lines).toEqual(['a\uFFFDb', 'c\uFFFD\uFFFD\uFFFDd', '\uFFFD\uFFFD', 'tail\uFFFD']);
});

it('makes the strings of JSON events storable: the log lines and the report built from them', async () => {
  const parser = new ClaudeStreamParser();
  const assistant = { type: 'assistant', message: { content: [{ type: 'text', text: 'half \ud800 and nul \u0000' }] } };
  const result = { type: 'result', subtype: 'success', is_error: false, result: 'done\u0000 \udc00 ok 😀', session_id: 's-1' };
  // JSON.stringify writes a NUL as the escape \u0000 and a lone surrogate as \ud800: plain ASCII on the wire.
  const script = [assistant, result].map((event) => `printf '%s\\n' '${JSON.stringify(event)}'`).join('; ');
  expect(script).toContain(String.raw`\u0000`);

  const lines = await runAgent(script, parser);
  expect(lines).toEqual(['assistant: half \uFFFD and nul \uFFFD', expect.stringContaining('result')]);
  const report = parser.report();
  expect(report.summary).toBe('done\uFFFD \uFFFD ok 😀');
  // What a completion writes into tasks.result: Postgres takes it as jsonb.
  const { rows } = await sql<{ summary: string }>`SELECT (${JSON.stringify(report)}::jsonb)->>'summary' AS summary`.execute(database.db);
  expect(rows[0]!.summary).toBe('done\uFFFD \uFFFD ok 😀');
});
