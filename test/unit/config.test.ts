import { describe, expect, it } from 'vitest';
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
