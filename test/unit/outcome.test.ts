import { describe, expect, it } from 'vitest';
import type { ParsedRun } from '../../server/sessions/agents/index.js';
import { decideOutcome, describeEnd, type OutcomeInput, type RunEnd } from '../../server/sessions/outcome.js';

const exited = (exitCode: number): RunEnd => ({ reason: 'exited', exitCode, signal: null, error: null });

function parsed(overrides: Partial<ParsedRun> = {}): ParsedRun {
  return {
    conversationId: null, summary: null, costUsd: null, inputTokens: null, outputTokens: null,
    cumulative: { costUsd: false, tokens: false }, permissionDenials: [], stderrTail: null,
    success: null, error: null, finished: false, ...overrides,
  };
}

function input(overrides: Partial<OutcomeInput> = {}): OutcomeInput {
  return {
    end: exited(0),
    parsed: parsed(),
    reported: null,
    stoppedOnRequest: false,
    limits: { timeoutS: 1800, stallS: 600 },
    onPermissionDenial: 'fail',
    result: { summary: 'progress line', session_id: 's' },
    ...overrides,
  };
}

describe('decideOutcome', () => {
  it('believes the agent: a block report blocks, a complete report or a successful result succeeds', () => {
    expect(decideOutcome(input({ end: exited(1), reported: { kind: 'block', reason: 'needs a key' } }))).toMatchObject({ kind: 'blocked', reason: 'needs a key' });
    expect(decideOutcome(input({ end: exited(1), reported: { kind: 'complete', summary: 'done' } })).kind).toBe('succeeded');
    expect(decideOutcome(input({ end: exited(1), parsed: parsed({ finished: true, success: true }) })).kind).toBe('succeeded');
    expect(decideOutcome(input({ end: exited(0), parsed: parsed({ success: false, error: 'no' }) })).kind).toBe('failed');
  });

  it('names the limit that was hit', () => {
    expect(decideOutcome(input({ end: { reason: 'timed_out', exitCode: null, signal: 'SIGTERM', error: null } }))).toMatchObject({ error: 'timed out after 30 min' });
    expect(decideOutcome(input({ end: { reason: 'stalled', exitCode: null, signal: 'SIGTERM', error: null } }))).toMatchObject({ error: 'stalled: no output for 600 s' });
    expect(decideOutcome(input({ end: { reason: 'timed_out', exitCode: null, signal: null, error: null }, limits: { timeoutS: 90, stallS: 0 } }))).toMatchObject({
      error: 'timed out after 90 s',
    });
  });

  it("gives the agent's own error, else the tail of its stderr, and no progress line as summary", () => {
    const own = decideOutcome(input({ end: exited(1), parsed: parsed({ success: false, error: 'API Error: 529 overloaded', stderrTail: 'noise' }) }));
    expect(own).toEqual({ kind: 'failed', error: 'the agent exited with code 1: API Error: 529 overloaded', result: { session_id: 's' } });
    const stderr = decideOutcome(input({ end: exited(2), parsed: parsed({ stderrTail: 'Error: thread/start failed' }) }));
    expect(stderr).toMatchObject({ kind: 'failed', error: 'the agent exited with code 2; its stderr ended with:\nError: thread/start failed' });
    const stalled = decideOutcome(input({ end: { reason: 'stalled', exitCode: null, signal: 'SIGTERM', error: null }, parsed: parsed({ stderrTail: 'retrying 5/5' }) }));
    expect(stalled).toMatchObject({ error: 'stalled: no output for 600 s; its stderr ended with:\nretrying 5/5' });
  });

  it('fails a run whose agent was denied tools, or notes the denials, as configured', () => {
    const denied = parsed({ finished: true, success: true, permissionDenials: [{ tool: 'Bash', input: { command: 'npm test' } }, { tool: 'Bash', input: {} }] });
    const failed = decideOutcome(input({ parsed: denied }));
    expect(failed).toMatchObject({ kind: 'failed', error: 'the agent was denied 2 tools: Bash' });
    expect(failed.result?.permission_denials).toEqual(denied.permissionDenials);
    const noted = decideOutcome(input({ parsed: denied, onPermissionDenial: 'note' }));
    expect(noted).toMatchObject({ kind: 'succeeded', result: { summary: 'progress line', permission_denials: denied.permissionDenials } });
  });

  it('holds a session stopped on request as blocked, and describes how a process ended', () => {
    expect(decideOutcome(input({ end: { reason: 'stopped', exitCode: null, signal: 'SIGTERM', error: null }, stoppedOnRequest: true })).kind).toBe('blocked');
    expect(describeEnd({ reason: 'timed_out', exitCode: null, signal: 'SIGKILL', error: null })).toBe('timed out');
    expect(describeEnd(exited(3))).toBe('exited 3');
  });
});
