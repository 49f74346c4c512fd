import type { RunnerFactory } from '../arbor.js';
import type { SessionAssignment, SessionRunner } from '../orchestrator/session-runner.js';
import type { TaskOutcome } from '../domain/task-rules.js';

/**
 * Placeholder until agent sessions land: every agent task is reported blocked
 * (a person can retry it), so no work is lost or counted as failed.
 */
class SessionsNotAvailable implements SessionRunner {
  async run(_assignment: SessionAssignment): Promise<TaskOutcome> {
    return { kind: 'blocked', reason: 'agent sessions are not available in this build' };
  }
}

export const createSessionRunner: RunnerFactory = () => new SessionsNotAvailable();
