import { describe, expect, it } from 'vitest';
import { GOAL_STATUSES, planGoalTransition, type GoalCommand } from '../../server/domain/states.js';

describe('planGoalTransition', () => {
  const allowed: Record<GoalCommand, string[]> = {
    pause: ['pending', 'running'],
    resume: ['paused'],
    cancel: ['pending', 'running', 'paused'],
  };

  for (const command of ['pause', 'resume', 'cancel'] as const) {
    for (const status of GOAL_STATUSES) {
      const ok = allowed[command].includes(status);
      it(`${command} from ${status} is ${ok ? 'allowed' : 'refused'}`, () => {
        const result = planGoalTransition(command, status);
        expect(result.ok).toBe(ok);
        if (!result.ok) expect(result.reason).toBe(`cannot ${command} a goal that is ${status}`);
      });
    }
  }

  it('leads to the right state', () => {
    expect(planGoalTransition('pause', 'running')).toEqual({ ok: true, from: 'running', to: 'paused' });
    expect(planGoalTransition('resume', 'paused')).toEqual({ ok: true, from: 'paused', to: 'running' });
    expect(planGoalTransition('cancel', 'pending')).toEqual({ ok: true, from: 'pending', to: 'cancelled' });
  });
});
