import { describe, expect, it } from 'vitest';
import {
  INITIAL_STATE,
  checkStall,
  classifyEnd,
  killSentAt,
  transition,
  type EndRequest,
  type ProcessEvent,
  type ProcessState,
} from '../../server/sessions/process-state.js';

/** Feeds events from the initial state; returns the last state and every action taken on the way. */
function play(...events: ProcessEvent[]): { state: ProcessState; actions: string[] } {
  let state = INITIAL_STATE;
  const actions: string[] = [];
  for (const event of events) {
    const next = transition(state, event);
    state = next.state;
    actions.push(...next.actions.map((action) => action.type));
  }
  return { state, actions };
}

const spawned: ProcessEvent = { type: 'spawned' };
const exitedBy = (signal: NodeJS.Signals | null, exitCode: number | null = null): ProcessEvent => ({
  type: 'leader_exited',
  exitCode,
  signal,
});
const exited0 = exitedBy(null, 0);
const stop = (reason: 'stopped' | 'timed_out' | 'stalled' = 'stopped'): ProcessEvent => ({ type: 'stop', reason });

/** The end reported once the group is gone and the pipes drained. */
function endAfter(...events: ProcessEvent[]) {
  const { state } = play(...events, { type: 'group_gone' }, { type: 'drained' });
  expect(state.phase).toBe('done');
  return state.phase === 'done' ? state.end : null;
}

describe('classifyEnd', () => {
  const cases: [EndRequest | null, number | null, NodeJS.Signals | null, string][] = [
    [null, 0, null, 'exited'],
    [null, 3, null, 'exited'],
    [null, null, 'SIGKILL', 'killed'],
    [null, null, 'SIGTERM', 'killed'],
    ['finish', null, 'SIGTERM', 'exited'],
    ['finish', 0, null, 'exited'],
    ['stopped', null, 'SIGTERM', 'stopped'],
    ['stopped', 0, null, 'stopped'],
    ['timed_out', null, 'SIGKILL', 'timed_out'],
    ['stalled', 1, null, 'stalled'],
  ];
  for (const [request, exitCode, signal, reason] of cases) {
    it(`ending for ${request ?? 'nothing'}, exit ${exitCode ?? signal}: ${reason}`, () => {
      expect(classifyEnd(request, { exitCode, signal })).toEqual({ reason, exitCode, signal, error: null });
    });
  }
});

describe('process state transitions', () => {
  it('a run that exits by itself: reap, drain, then report its own exit', () => {
    const { state, actions } = play(spawned, exited0, { type: 'group_gone' }, { type: 'drained' });
    expect(actions).toEqual(['disarm_run_timers', 'reap_group', 'drain_output', 'settle']);
    expect(state).toEqual({ phase: 'done', end: { reason: 'exited', exitCode: 0, signal: null, error: null } });
  });

  it('a failed spawn settles at once with its error, and nothing moves it afterwards', () => {
    const failed = play({ type: 'spawn_failed', error: 'agent CLI not found: x' });
    expect(failed.actions).toEqual(['settle']);
    expect(failed.state).toEqual({
      phase: 'failed_to_start',
      end: { reason: 'failed_to_start', exitCode: null, signal: null, error: 'agent CLI not found: x' },
    });
    for (const event of [stop(), { type: 'finish_soon', deadline: 0 } as const, exited0]) {
      expect(transition(failed.state, event)).toEqual({ state: failed.state, actions: [] });
    }
  });

  it('before the pid is known, stop and finishSoon do nothing', () => {
    expect(play(stop(), { type: 'finish_soon', deadline: 0 })).toEqual({ state: INITIAL_STATE, actions: [] });
  });

  it('stop sends SIGTERM once; the first reason wins', () => {
    const { state, actions } = play(spawned, stop('stopped'), stop('timed_out'), { type: 'timed_out' }, { type: 'stalled' });
    expect(actions).toEqual(['disarm_run_timers', 'send_sigterm']);
    expect(state).toEqual({ phase: 'terminating', request: 'stopped' });
  });

  it('the grace over: SIGKILL, and the reason still stays', () => {
    const { state, actions } = play(spawned, { type: 'timed_out' }, { type: 'kill_due', at: 7 }, { type: 'kill_due', at: 9 });
    expect(actions).toEqual(['disarm_run_timers', 'send_sigterm', 'send_sigkill']);
    expect(state).toEqual({ phase: 'killing', request: 'timed_out', killSentAt: 7 });
    expect(killSentAt(state)).toBe(7);
    expect(endAfter(spawned, { type: 'timed_out' }, { type: 'kill_due', at: 7 }, exitedBy('SIGKILL'))).toMatchObject({
      reason: 'timed_out',
      signal: 'SIGKILL',
    });
  });

  it('a stall ends the run as stalled', () => {
    expect(endAfter(spawned, { type: 'stalled' }, exitedBy('SIGTERM'))).toMatchObject({ reason: 'stalled' });
  });

  it('a signal nobody here sent is a kill', () => {
    expect(endAfter(spawned, exitedBy('SIGKILL'))).toMatchObject({ reason: 'killed', signal: 'SIGKILL' });
  });

  it('finishSoon disarms the timeout and stall, and arms the finish timer for its deadline', () => {
    const { state, actions } = play(spawned, { type: 'finish_soon', deadline: 100 });
    expect(state).toEqual({ phase: 'finishing', deadline: 100 });
    expect(actions).toEqual(['disarm_run_timers', 'arm_finish_timer']);
    // Once the agent has reported, the timeout and the stall no longer apply.
    expect(transition(state, { type: 'timed_out' }).state).toBe(state);
    expect(transition(state, { type: 'stalled' }).state).toBe(state);
  });

  it('finishSoon again: the earlier deadline wins', () => {
    const later = play(spawned, { type: 'finish_soon', deadline: 100 }, { type: 'finish_soon', deadline: 500 });
    expect(later.state).toEqual({ phase: 'finishing', deadline: 100 });
    const earlier = transition(later.state, { type: 'finish_soon', deadline: 50 });
    expect(earlier.state).toEqual({ phase: 'finishing', deadline: 50 });
    expect(earlier.actions).toEqual([{ type: 'arm_finish_timer', deadline: 50 }]);
  });

  it('a lingering agent past its finish deadline is terminated, and its end is its own exit', () => {
    const events = [spawned, { type: 'finish_soon', deadline: 100 }, { type: 'finish_due' }] as const;
    expect(play(...events).state).toEqual({ phase: 'terminating', request: 'finish' });
    expect(endAfter(...events, exitedBy('SIGTERM'))).toEqual({ reason: 'exited', exitCode: null, signal: 'SIGTERM', error: null });
  });

  it('stop after finishSoon ends the group at once, but the end stays exited', () => {
    const { state, actions } = play(spawned, { type: 'finish_soon', deadline: 100 }, stop('timed_out'));
    expect(state).toEqual({ phase: 'terminating', request: 'finish' });
    expect(actions.slice(2)).toEqual(['disarm_run_timers', 'send_sigterm']);
  });

  it('finishSoon after stop changes nothing', () => {
    const { state } = play(spawned, stop(), { type: 'finish_soon', deadline: 100 });
    expect(state).toEqual({ phase: 'terminating', request: 'stopped' });
  });

  it('once the leader exited, stop and finishSoon do nothing; leftovers get SIGTERM once, then SIGKILL', () => {
    const exited = play(spawned, exited0).state;
    expect(exited).toEqual({
      phase: 'leader_exited',
      end: { reason: 'exited', exitCode: 0, signal: null, error: null },
      leftovers: { sent: 'nothing' },
    });
    expect(transition(exited, stop()).state).toBe(exited);
    expect(transition(exited, { type: 'finish_soon', deadline: 1 }).state).toBe(exited);
    expect(transition(exited, { type: 'kill_due', at: 1 }).state).toBe(exited);

    const { state, actions } = play(spawned, exited0, { type: 'leftovers_found' }, { type: 'leftovers_found' }, { type: 'kill_due', at: 42 });
    expect(actions.slice(2)).toEqual(['send_sigterm', 'send_sigkill']);
    expect(killSentAt(state)).toBe(42);
    // Ending the leftovers does not change how the leader's own exit is reported.
    expect(state.phase === 'leader_exited' && state.end.reason).toBe('exited');
  });

  it('a leader exiting while its group is being ended keeps what was sent', () => {
    const afterTerm = play(spawned, stop(), exitedBy('SIGTERM')).state;
    expect(afterTerm).toMatchObject({ phase: 'leader_exited', leftovers: { sent: 'SIGTERM' } });
    // Leftovers found now get no second SIGTERM: the kill timer already runs.
    expect(transition(afterTerm, { type: 'leftovers_found' }).actions).toEqual([]);
    expect(transition(afterTerm, { type: 'kill_due', at: 3 }).actions).toEqual([{ type: 'send_sigkill' }]);

    const afterKill = play(spawned, stop(), { type: 'kill_due', at: 5 }, exitedBy('SIGKILL')).state;
    expect(afterKill).toMatchObject({ phase: 'leader_exited', leftovers: { sent: 'SIGKILL', at: 5 } });
    expect(killSentAt(afterKill)).toBe(5);
  });

  it('while draining, no more signals go out; done is final', () => {
    const draining = play(spawned, stop(), exitedBy('SIGTERM'), { type: 'group_gone' }).state;
    expect(draining.phase).toBe('draining');
    expect(transition(draining, { type: 'kill_due', at: 1 })).toEqual({ state: draining, actions: [] });
    const done = transition(draining, { type: 'drained' }).state;
    for (const event of [stop(), exited0, { type: 'drained' } as const, { type: 'group_gone' } as const]) {
      expect(transition(done, event)).toEqual({ state: done, actions: [] });
    }
  });
});

describe('checkStall', () => {
  it('silent for the stall time: stalled', () => {
    expect(checkStall(500, 500, false)).toEqual({ stalled: true });
  });
  it('output more recent: check again when the stall time would be reached', () => {
    expect(checkStall(200, 500, false)).toEqual({ stalled: false, recheckInMs: 300 });
    expect(checkStall(499.9, 500, false)).toEqual({ stalled: false, recheckInMs: 1 });
  });
  it('held back by the consumer: never a stall, however long', () => {
    expect(checkStall(10_000, 500, true)).toEqual({ stalled: false, recheckInMs: 500 });
  });
});
