import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { agentCliProblem, findExecutable, warnIfAgentCliMissing } from '../../server/sessions/agents/cli-lookup.js';
import type { AgentSettings } from '../../server/sessions/agents/index.js';

/** Real files in a temp dir standing in for a PATH. */
let bin: string;
beforeAll(async () => {
  bin = await mkdtemp(path.join(os.tmpdir(), 'arbor-path-'));
  await writeFile(path.join(bin, 'claude'), '#!/bin/sh\n');
  await chmod(path.join(bin, 'claude'), 0o755);
  await writeFile(path.join(bin, 'codex'), 'not executable\n');
});
afterAll(() => rm(bin, { recursive: true, force: true }));

const settings = (overrides: Partial<AgentSettings> = {}): AgentSettings => ({
  claude: { bin: 'claude', permissionMode: 'acceptEdits', extraArgs: [] },
  codex: { bin: 'codex', sandbox: 'workspace-write', extraArgs: [] },
  command: { argv: [] },
  ...overrides,
});

describe('findExecutable', () => {
  it('finds a name on the PATH, and only an executable file', async () => {
    expect(await findExecutable('claude', `/nonexistent${path.delimiter}${bin}`)).toBe(path.join(bin, 'claude'));
    expect(await findExecutable('codex', bin)).toBeNull();
    expect(await findExecutable('claude', undefined)).toBeNull();
  });

  it('takes a path as it is', async () => {
    expect(await findExecutable(path.join(bin, 'claude'), '')).toBe(path.join(bin, 'claude'));
    expect(await findExecutable(bin, '')).toBeNull();
  });
});

describe('agentCliProblem', () => {
  it('says which setting to change, or to use the command agent', async () => {
    expect(await agentCliProblem('claude', settings(), bin)).toBeNull();
    expect(await agentCliProblem('codex', settings(), bin)).toMatch(/"codex" is not installed .*set ARBOR_CODEX_BIN.*ARBOR_AGENT=command/);
    expect(await agentCliProblem('command', settings(), bin)).toMatch(/set ARBOR_AGENT_COMMAND/);
    expect(await agentCliProblem('command', settings({ command: { argv: ['claude', 'x'] } }), bin)).toBeNull();
    expect(await agentCliProblem('command', settings({ command: { argv: ['nope'] } }), bin)).toMatch(/"nope" \(ARBOR_AGENT_COMMAND\) is not installed/);
  });
});

describe('warnIfAgentCliMissing', () => {
  it('warns at start when the default agent cannot start, and is silent when it can', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    await warnIfAgentCliMissing('claude', settings(), bin, logger);
    expect(lines).toEqual([]);
    await warnIfAgentCliMissing('claude', settings(), '/nonexistent', logger);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 40, agent: 'claude', msg: expect.stringMatching(/^the default agent cannot start: .*ARBOR_CLAUDE_BIN/) }),
    ]);
  });
});
