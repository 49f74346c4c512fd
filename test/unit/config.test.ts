import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';

describe('loadConfig', () => {
  it('has working defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, bodyLimitBytes: 1024 * 1024 });
    expect(config.dataDir.endsWith('.arbor')).toBe(true);
    expect(config.goals.maxTasksPerGoal).toBe(10_000);
  });

  it('reads and coerces values', () => {
    const config = loadConfig({ PORT: '9000', DATABASE_URL: 'postgres://u@h/db', ARBOR_MAX_TASKS_PER_GOAL: '50' });
    expect(config.http.port).toBe(9000);
    expect(config.databaseUrl).toBe('postgres://u@h/db');
    expect(config.goals.maxTasksPerGoal).toBe(50);
  });

  it('lets agents work unattended by default, and reads what they may do', () => {
    const defaults = loadConfig({}).sessions;
    expect(defaults.claude).toMatchObject({ permissionMode: 'acceptEdits', allowedTools: ['Bash'] });
    expect(defaults.codex.sandbox).toBe('workspace-write');
    expect(defaults.onPermissionDenial).toBe('fail');
    const tight = loadConfig({ ARBOR_CLAUDE_ALLOWED_TOOLS: 'Bash(npm test:*), Bash(git commit:*)', ARBOR_ON_PERMISSION_DENIAL: 'note' }).sessions;
    expect(tight.claude.allowedTools).toEqual(['Bash(npm test:*)', 'Bash(git commit:*)']);
    expect(tight.onPermissionDenial).toBe('note');
    expect(loadConfig({ ARBOR_CLAUDE_ALLOWED_TOOLS: 'none' }).sessions.claude.allowedTools).toEqual([]);
    expect(() => loadConfig({ ARBOR_ON_PERMISSION_DENIAL: 'ignore' })).toThrow(/ARBOR_ON_PERMISSION_DENIAL/);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a postgres:\/\/ URL/);
    expect(() => loadConfig({ ARBOR_API_TOKEN: 'short' })).toThrow(/ARBOR_API_TOKEN: must be at least 16 characters/);
  });

  it('refuses a non-loopback address without an API token', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST: 0.0.0.0 is not a loopback address; set ARBOR_API_TOKEN/);
    expect(loadConfig({ HOST: '0.0.0.0', ARBOR_API_TOKEN: 'a-long-enough-token' }).http.host).toBe('0.0.0.0');
  });
});

describe('loadConfig edge cases', () => {
  it('treats empty variables as unset', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', ARBOR_API_TOKEN: '', ARBOR_INSTANCE_ID: '' });
    expect(config.http.port).toBe(8080);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.auth.apiToken).toBeUndefined();
  });

  it('warns about ARBOR_* variables it does not know', () => {
    expect(loadConfig({ ARBOR_API_TOKN: 'x', OTHER_THING: 'y' }).warnings).toEqual([
      'ARBOR_API_TOKN is not a setting Arbor knows; is it misspelt?',
    ]);
  });
});

describe('secrets from files', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'arbor-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  /** A file holding `content`, with `mode`. */
  const secretFile = (content: string, mode = 0o600): string => {
    const file = path.join(dir, `secret-${n++}`);
    writeFileSync(file, content, { mode });
    return file;
  };

  it('reads each secret from its *_FILE, without the final newline', () => {
    const config = loadConfig({
      DATABASE_URL_FILE: secretFile('postgres://arbor:pw@db/arbor\n'),
      ARBOR_API_TOKEN_FILE: secretFile('api-token-0123456789\n'),
      ARBOR_SIGNAL_TOKEN_FILE: secretFile('signal-token-0123456789'),
      ARBOR_GITHUB_WEBHOOK_SECRET_FILE: secretFile('webhook-secret-0123456789\r\n'),
      ARBOR_GITHUB_WEBHOOK_SECRET_OLD_FILE: secretFile('old-webhook-secret-0123456789\n'),
      ARBOR_GITHUB_TOKEN_FILE: secretFile('ghp_token-0123456789\n'),
    });
    expect(config.github).toEqual({ apiUrl: 'https://api.github.com', token: 'ghp_token-0123456789' });
    expect(config.databaseUrl).toBe('postgres://arbor:pw@db/arbor');
    expect(config.auth).toEqual({
      apiToken: 'api-token-0123456789',
      signalToken: 'signal-token-0123456789',
      githubWebhookSecret: 'webhook-secret-0123456789',
      githubWebhookSecretOld: 'old-webhook-secret-0123456789',
      signInTtlS: 7 * 24 * 3600,
    });
    expect(config.warnings).toEqual([]);
  });

  it('refuses a variable and its *_FILE together', () => {
    const file = secretFile('api-token-0123456789\n');
    expect(() => loadConfig({ ARBOR_API_TOKEN: 'api-token-0123456789', ARBOR_API_TOKEN_FILE: file })).toThrow(
      /ARBOR_API_TOKEN_FILE: ARBOR_API_TOKEN is set as well; give one of the two/,
    );
  });

  it('refuses a file every user may read, and warns about one its group may read', () => {
    const open = secretFile('api-token-0123456789\n', 0o644);
    expect(() => loadConfig({ ARBOR_API_TOKEN_FILE: open })).toThrow(ConfigError);
    expect(() => loadConfig({ ARBOR_API_TOKEN_FILE: open })).toThrow(`ARBOR_API_TOKEN_FILE: ${open} is readable by every user (mode 0644); chmod 600 it`);
    const group = secretFile('api-token-0123456789\n', 0o640);
    const config = loadConfig({ ARBOR_API_TOKEN_FILE: group });
    expect(config.auth.apiToken).toBe('api-token-0123456789');
    expect(config.warnings).toEqual([`ARBOR_API_TOKEN_FILE: ${group} is readable by its group (mode 0640); chmod 600 it unless that group should read it`]);
  });

  it('names the file when it is missing, empty or holds a bad value', () => {
    const missing = path.join(dir, 'missing');
    expect(() => loadConfig({ ARBOR_SIGNAL_TOKEN_FILE: missing })).toThrow(`ARBOR_SIGNAL_TOKEN_FILE: cannot read ${missing} (ENOENT)`);
    expect(() => loadConfig({ ARBOR_SIGNAL_TOKEN_FILE: dir })).toThrow(`ARBOR_SIGNAL_TOKEN_FILE: cannot read ${dir} (not a regular file)`);
    const empty = secretFile('\n');
    expect(() => loadConfig({ ARBOR_SIGNAL_TOKEN_FILE: empty })).toThrow(`ARBOR_SIGNAL_TOKEN_FILE: ${empty} is empty`);
    expect(() => loadConfig({ ARBOR_API_TOKEN_FILE: secretFile('short\n') })).toThrow(
      /ARBOR_API_TOKEN \(from ARBOR_API_TOKEN_FILE\): must be at least 16 characters/,
    );
    expect(() => loadConfig({ DATABASE_URL_FILE: secretFile('mysql://x\n') })).toThrow(/DATABASE_URL \(from DATABASE_URL_FILE\): must be a postgres/);
  });

  it('counts a token from a file for listening beyond loopback', () => {
    expect(loadConfig({ HOST: '0.0.0.0', ARBOR_API_TOKEN_FILE: secretFile('api-token-0123456789') }).http.host).toBe('0.0.0.0');
  });

  it('gives agents neither the secrets nor the names of their files', () => {
    const config = loadConfig({
      PATH: '/usr/bin',
      ANTHROPIC_API_KEY: 'for-the-agent',
      ARBOR_API_TOKEN_FILE: secretFile('api-token-0123456789'),
      ARBOR_SIGNAL_TOKEN: 'signal-token-0123456789',
      ARBOR_GITHUB_TOKEN: 'ghp_token-0123456789',
      DATABASE_URL: 'postgres://u:pw@h/db',
    });
    expect(config.sessions.baseEnv).toEqual({ PATH: '/usr/bin', ANTHROPIC_API_KEY: 'for-the-agent' });
  });
});

describe('ARBOR_AGENT_USER', () => {
  it('takes a user name or a uid, and is unset by default', () => {
    expect(loadConfig({}).sessions.agentUser).toBeNull();
    expect(loadConfig({ ARBOR_AGENT_USER: 'node' }).sessions.agentUser).toBe('node');
    expect(loadConfig({ ARBOR_AGENT_USER: '1000' }).sessions.agentUser).toBe('1000');
    expect(() => loadConfig({ ARBOR_AGENT_USER: 'no such; user' })).toThrow(/ARBOR_AGENT_USER: must be a user name or a numeric uid/);
  });
});
