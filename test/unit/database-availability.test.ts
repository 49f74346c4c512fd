import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, untilDatabaseAnswers } from '../../server/db/availability.js';

function withCode(code: string, message = 'failed'): Error {
  return Object.assign(new Error(message), { code });
}

describe('isDatabaseUnavailable', () => {
  it('is true for a server that is away, restarting or refusing', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001', '53300']) {
      expect(isDatabaseUnavailable(withCode(code)), code).toBe(true);
    }
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    // A connect that tried ::1 and 127.0.0.1 and was refused on both.
    expect(isDatabaseUnavailable(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: withCode('ECONNRESET') }))).toBe(true);
  });

  it('is false for a database that answered no', () => {
    for (const code of ['22P05', '23505', '40P01', '42P01', '22021']) {
      expect(isDatabaseUnavailable(withCode(code)), code).toBe(false);
    }
    expect(isDatabaseUnavailable(new Error('unsupported Unicode escape sequence'))).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
  });
});

describe('untilDatabaseAnswers', () => {
  it('tries again while the database is unavailable, and returns what the work returns', async () => {
    let tries = 0;
    const retried: number[] = [];
    const value = await untilDatabaseAnswers(
      async () => {
        tries += 1;
        if (tries < 3) throw withCode('ECONNREFUSED');
        return 'stored';
      },
      { onRetry: (_err, attempt) => retried.push(attempt), maxDelayMs: 1 },
    );
    expect(value).toBe('stored');
    expect(retried).toEqual([1, 2]);
  });

  it('gives up at once on any other error', async () => {
    let tries = 0;
    const refused = withCode('22P05');
    await expect(
      untilDatabaseAnswers(async () => {
        tries += 1;
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(tries).toBe(1);
  });
});
