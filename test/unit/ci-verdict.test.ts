import { describe, expect, it } from 'vitest';
import { ciVerdict, type CheckRun } from '../../server/domain/ci-verdict.js';

const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const run = (name: string, status: string, conclusion: string | null = null, title: string | null = null): CheckRun => ({ name, status, conclusion, title });

describe('ciVerdict', () => {
  it('is pending while any check runs, even when another already passed', () => {
    const verdict = ciVerdict(SHA, [run('build', 'completed', 'success'), run('test', 'in_progress')], []);
    expect(verdict.state).toBe('pending');
    expect(verdict.summary).toBe('CI still running on abcdef0: test (in_progress)');
  });

  it('is pending when nothing has reported yet', () => {
    expect(ciVerdict(SHA, [], []).state).toBe('pending');
  });

  it('fails as soon as one check failed, naming each failing check and its output title', () => {
    const verdict = ciVerdict(SHA, [run('build', 'completed', 'failure', '3 type errors'), run('test', 'queued')], [
      { context: 'ci/legacy', state: 'error', description: 'crashed' },
    ]);
    expect(verdict.state).toBe('fail');
    expect(verdict.summary).toBe('CI failed on abcdef0: build (failure: 3 type errors); ci/legacy (error: crashed)');
  });

  it('passes when every check run and status completed successfully (neutral and skipped count as passing)', () => {
    const verdict = ciVerdict(SHA, [run('build', 'completed', 'success'), run('docs', 'completed', 'skipped')], [{ context: 'ci/legacy', state: 'success', description: null }]);
    expect(verdict).toMatchObject({ state: 'pass', summary: 'CI passed on abcdef0: build, docs, ci/legacy' });
  });

  it('with required checks: only they decide, and each must have reported', () => {
    const runs = [run('build', 'completed', 'success'), run('flaky', 'completed', 'failure')];
    expect(ciVerdict(SHA, runs, [], ['build']).state).toBe('pass');
    expect(ciVerdict(SHA, runs, [], ['build', 'test'])).toMatchObject({ state: 'pending', summary: expect.stringContaining('test (not reported yet)') });
  });
});
