import { describe, expect, it } from 'vitest';
import { decideAfterFailure } from '../../server/domain/task-rules.js';

const policy = { baseDelayMs: 1000, maxDelayMs: 5000 };

describe('decideAfterFailure', () => {
  it('retries with a doubling backoff, capped, while attempts are left', () => {
    expect(decideAfterFailure(1, 4, policy)).toEqual({ retry: true, delayMs: 1000 });
    expect(decideAfterFailure(2, 4, policy)).toEqual({ retry: true, delayMs: 2000 });
    expect(decideAfterFailure(3, 4, policy)).toEqual({ retry: true, delayMs: 4000 });
    expect(decideAfterFailure(3, 10, { baseDelayMs: 4000, maxDelayMs: 5000 })).toEqual({ retry: true, delayMs: 5000 });
  });

  it('fails for good when the attempts are used up', () => {
    expect(decideAfterFailure(2, 2, policy)).toEqual({ retry: false });
  });

  it('fails a permanent failure at once, attempts left or not', () => {
    expect(decideAfterFailure(1, 5, policy, true)).toEqual({ retry: false });
    expect(decideAfterFailure(1, 5, policy, false)).toEqual({ retry: true, delayMs: 1000 });
  });
});
