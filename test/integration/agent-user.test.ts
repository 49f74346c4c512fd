import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startAgentProcess } from '../../server/sessions/agent-process.js';
import { resolveAgentUser } from '../../server/sessions/agent-user.js';
import { createSessionRunner } from '../../server/sessions/session-runner-factory.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** ARBOR_AGENT_USER resolved against the real passwd database, and what Arbor says at start. */

const isRoot = process.getuid?.() === 0;
const NOBODY_UID = 65534;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'arbor-agent-user-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('resolveAgentUser', () => {
  it('refuses a user that does not exist', () => {
    expect(() => resolveAgentUser('no-such-user-here', { dataDir: tmp, ownUid: 0 })).toThrow('ARBOR_AGENT_USER: no such user: no-such-user-here');
  });

  it('needs nothing when the user is Arbor own', () => {
    expect(resolveAgentUser('root', { dataDir: tmp, ownUid: 0 })).toBeNull();
    expect(resolveAgentUser('0', { dataDir: tmp, ownUid: 0 })).toBeNull();
  });

  it('refuses to switch users when Arbor is not root', () => {
    expect(() => resolveAgentUser('nobody', { dataDir: tmp, ownUid: 1000 })).toThrow(/needs Arbor to run as root \(it runs as uid 1000\)/);
  });

  it.skipIf(!isRoot)('gives a user without a home of its own one under the data dir, which others may pass but not list', () => {
    const dataDir = path.join(tmp, 'data');
    const user = resolveAgentUser('nobody', { dataDir, ownUid: 0 });
    expect(user).toEqual({ name: 'nobody', uid: NOBODY_UID, gid: expect.any(Number), home: path.join(dataDir, 'agent-home') });
    const home = statSync(user!.home);
    expect([home.uid, home.mode & 0o777]).toEqual([NOBODY_UID, 0o700]);
    expect(statSync(dataDir).mode & 0o777).toBe(0o711);
    // A uid with no passwd entry is its own group.
    expect(resolveAgentUser('54321', { dataDir, ownUid: 0 })).toMatchObject({ uid: 54321, gid: 54321, home: path.join(dataDir, 'agent-home') });
  });
});

describe.skipIf(!isRoot)('starting as root', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.destroy();
  });

  /** The warnings the session runner logs when it is made from `env`. */
  function startWarnings(env: Record<string, string>): string[] {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger('info', sink);
    const config = loadConfig({ ARBOR_DATA_DIR: path.join(tmp, 'start'), ...env });
    createSessionRunner({ db: database.db, config, logger, apiUrl: () => 'http://127.0.0.1:1' });
    return lines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((l) => l.level === 40).map((l) => l.msg);
  }

  it('warns that agents can read every secret when ARBOR_AGENT_USER is unset', () => {
    const warnings = startWarnings({});
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Arbor runs as root and ARBOR_AGENT_USER is unset: agents run as root and can read every secret/);
  });

  it('does not when agents run as another user with an API token, or as root on purpose', () => {
    expect(startWarnings({ ARBOR_AGENT_USER: 'nobody', ARBOR_API_TOKEN: 'api-token-0123456789' })).toEqual([]);
    expect(startWarnings({ ARBOR_AGENT_USER: 'root' })).toEqual([]);
  });

  it('warns that the API is open to agents without a token', () => {
    expect(startWarnings({ ARBOR_AGENT_USER: 'nobody' })).toEqual([
      'ARBOR_API_TOKEN is unset: the API on loopback is open to every local process, agents included; set it',
    ]);
  });
});

describe.skipIf(!isRoot)('an agent process as another user', () => {
  it('says which user cannot run a CLI out of its reach', async () => {
    const dataDir = path.join(tmp, 'cli');
    const user = resolveAgentUser('nobody', { dataDir, ownUid: 0 })!;
    // Where a root-only install would put it: a directory only root may enter.
    const privateDir = path.join(tmp, 'private-bin');
    mkdirSync(privateDir, { mode: 0o700 });
    const cli = path.join(privateDir, 'agent');
    writeFileSync(cli, '#!/bin/sh\nexit 0\n');
    chmodSync(cli, 0o755);
    const proc = startAgentProcess({
      file: cli,
      args: [],
      cwd: dataDir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      user,
      stdin: '',
      timeoutMs: 0,
      stallMs: 0,
      killGraceMs: 1000,
      onLine: () => {},
    });
    expect(await proc.done).toEqual({ reason: 'failed_to_start', exitCode: null, signal: null, error: `agent CLI is not executable by nobody: ${cli}` });
  });
});
