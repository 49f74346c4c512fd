import { describe, expect, it } from 'vitest';
import { LOGGED_ERROR_MAX_CHARS, attemptFailure, gateVerdict, lifecycleLine, type LifecycleEvent } from '../../server/domain/lifecycle.js';
import { failureReason, reportedAmount, signalTypeLabel } from '../../server/domain/metric-labels.js';

function taskEvent(data: Record<string, unknown>): LifecycleEvent {
  return { type: 'task.status_changed', data, goalId: 'g', goalTitle: 'Goal', taskId: 't', taskKey: 'ci' };
}
const goalEvent = (type: string, data: Record<string, unknown> = {}): LifecycleEvent => ({ type, data, goalId: 'g', goalTitle: 'Goal', taskId: null, taskKey: null });

describe('lifecycle lines', () => {
  it.each([
    [goalEvent('goal.created'), 'info', 'goal created'],
    [goalEvent('goal.status_changed', { to: 'succeeded' }), 'info', 'goal succeeded'],
    [goalEvent('goal.status_changed', { to: 'failed' }), 'warn', 'goal failed'],
    [goalEvent('goal.status_changed', { to: 'cancelled' }), 'info', 'goal cancelled'],
    [goalEvent('goal.status_changed', { from: 'running', to: 'paused' }), 'info', 'goal paused'],
    [goalEvent('goal.status_changed', { from: 'paused', to: 'running' }), 'info', 'goal resumed'],
    [taskEvent({ from: 'pending', to: 'waiting' }), 'info', 'gate opened'],
    [taskEvent({ from: 'waiting', to: 'succeeded' }), 'info', 'gate passed'],
    [taskEvent({ from: 'waiting', to: 'pending', rework: 1 }), 'info', 'gate failed'],
    [taskEvent({ from: 'waiting', to: 'failed', error: 'timed out' }), 'info', 'gate failed'],
    [taskEvent({ from: 'pending', to: 'review' }), 'info', 'review needed'],
    [taskEvent({ from: 'review', to: 'succeeded' }), 'info', 'review approved'],
    [taskEvent({ from: 'review', to: 'pending', rework: 1 }), 'info', 'review rejected'],
    [taskEvent({ from: 'running', to: 'blocked', reason: 'needs a key' }), 'warn', 'task blocked'],
    [taskEvent({ from: 'running', to: 'failed', error: 'boom', attempt: 3 }), 'warn', 'task failed'],
  ] as const)('%#: %s', (event, level, msg) => {
    expect(lifecycleLine(event)).toMatchObject({ level, msg, fields: { goal_id: 'g', goal: 'Goal' } });
  });

  it('names the task of a task line', () => {
    expect(lifecycleLine(taskEvent({ from: 'pending', to: 'waiting' }))!.fields).toEqual({ goal_id: 'g', goal: 'Goal', task_id: 't', task_key: 'ci' });
  });

  it("carries the start of a failure's error, not pages of stderr", () => {
    const error = `exit 1\n${'x'.repeat(5 * LOGGED_ERROR_MAX_CHARS)}`;
    const fields = lifecycleLine(taskEvent({ from: 'running', to: 'failed', error, attempt: 2 }))!.fields;
    expect(fields.error).toBe(error.slice(0, LOGGED_ERROR_MAX_CHARS));
    expect(fields.attempt).toBe(2);
  });

  it.each([
    goalEvent('goal.status_changed', { from: 'pending', to: 'running' }),
    taskEvent({ from: 'pending', to: 'running' }),
    taskEvent({ from: 'running', to: 'succeeded' }),
    taskEvent({ from: 'running', to: 'pending', error: 'exit 1' }),
    taskEvent({ from: 'running', to: 'running', waiting_for: 'subtasks' }),
    taskEvent({ from: 'waiting', to: 'cancelled' }),
    goalEvent('session.started'),
  ])('no line for %j', (event) => {
    expect(lifecycleLine(event)).toBeNull();
  });
});

describe('what events count', () => {
  it('gate verdicts', () => {
    expect(gateVerdict(taskEvent({ from: 'waiting', to: 'succeeded' }))).toBe('passed');
    expect(gateVerdict(taskEvent({ from: 'waiting', to: 'pending' }))).toBe('failed');
    expect(gateVerdict(taskEvent({ from: 'waiting', to: 'cancelled' }))).toBeNull();
    expect(gateVerdict(taskEvent({ from: 'review', to: 'succeeded' }))).toBeNull();
  });

  it('failed attempts, retried or final', () => {
    expect(attemptFailure(taskEvent({ from: 'running', to: 'pending', error: 'e' }))).toEqual({ retried: true, error: 'e', permanent: false });
    expect(attemptFailure(taskEvent({ from: 'running', to: 'failed', error: 'e', permanent: true }))).toEqual({ retried: false, error: 'e', permanent: true });
    // A shutdown handing a task back is no failure.
    expect(attemptFailure(taskEvent({ from: 'running', to: 'pending', reason: 'released' }))).toBeNull();
    expect(attemptFailure(taskEvent({ from: 'waiting', to: 'failed', error: 'e' }))).toBeNull();
  });

  it.each([
    ['timed out after 30 min: …', false, 'timeout'],
    ['stalled: no output for 600 s', false, 'stalled'],
    ['the agent was killed by SIGKILL (out of memory?)', false, 'killed'],
    ['the session was stopped', false, 'stopped'],
    ['agent CLI not found: claude', false, 'not_started'],
    ['agent CLI not found: claude', true, 'unrunnable'],
    ['lease expired: host-1 stopped renewing it', false, 'lease_expired'],
    ['the instance running it (host-1) went away', false, 'instance_lost'],
    ['the agent exited with code 1: tests failed', false, 'agent'],
  ] as const)('failure reason of %s', (error, permanent, reason) => {
    expect(failureReason(error, permanent)).toBe(reason);
  });

  it('signal types beyond the known ones are one label', () => {
    expect(['gh_ci', 'gh_review', 'centaur_review', 'human_approval', 'deploy_check', 'x'.repeat(100)].map(signalTypeLabel)).toEqual([
      'gh_ci',
      'gh_review',
      'centaur_review',
      'human_approval',
      'other',
      'other',
    ]);
  });

  it('reported amounts: numbers only', () => {
    expect(reportedAmount({ cost_usd: 0.25 }, 'cost_usd')).toBe(0.25);
    expect(reportedAmount({ cost_usd: '1' }, 'cost_usd')).toBe(0);
    expect(reportedAmount({ cost_usd: -1 }, 'cost_usd')).toBe(0);
    expect(reportedAmount(undefined, 'cost_usd')).toBe(0);
  });
});
