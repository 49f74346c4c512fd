import type { TaskOutcome } from '../../server/domain/task-rules.js';
import type { SessionAssignment, SessionRunner } from '../../server/orchestrator/session-runner.js';

/**
 * An in-process SessionRunner whose outcomes and durations the test decides.
 * It records every run and the concurrency it saw, so tests can check what
 * the orchestrator did without any timing assertions.
 */

export interface RunScript {
  outcome?: TaskOutcome;
  delayMs?: number;
  /** Keep the run going until `release()` names it (or it is aborted). */
  hold?: boolean;
}

export interface RunRecord {
  taskId: string;
  key: string;
  goalId: string;
  attempt: number;
  route: string;
  startedAt: number;
  endedAt?: number;
  outcome?: TaskOutcome;
  aborted: boolean;
}

type Script = (assignment: SessionAssignment) => RunScript;

export class ScriptedRunner implements SessionRunner {
  readonly runs: RunRecord[] = [];
  maxConcurrent = 0;
  readonly maxConcurrentByGoal = new Map<string, number>();
  readonly maxPinnedByGoal = new Map<string, number>();
  private readonly active = new Map<string, RunRecord>();
  private readonly held = new Map<string, (outcome: TaskOutcome) => void>();

  constructor(private script: Script = () => ({})) {}

  setScript(script: Script): void {
    this.script = script;
  }

  async run(assignment: SessionAssignment): Promise<TaskOutcome> {
    const { task, signal } = assignment;
    const record: RunRecord = {
      taskId: task.id,
      key: task.key,
      goalId: task.goalId,
      attempt: assignment.attempt,
      route: task.route,
      startedAt: performance.now(),
      aborted: false,
    };
    this.runs.push(record);
    this.active.set(task.id, record);
    this.observeConcurrency(task.goalId);
    const script = this.script(assignment);
    const outcome = await new Promise<TaskOutcome>((resolve) => {
      const finish = (o: TaskOutcome) => {
        this.held.delete(task.id);
        resolve(o);
      };
      signal.addEventListener('abort', () => {
        record.aborted = true;
        finish({ kind: 'failed', error: 'stopped' });
      });
      if (script.hold) this.held.set(task.id, finish);
      else if (script.delayMs) setTimeout(() => finish(script.outcome ?? { kind: 'succeeded' }), script.delayMs);
      else queueMicrotask(() => finish(script.outcome ?? { kind: 'succeeded' }));
    });
    record.endedAt = performance.now();
    record.outcome = outcome;
    this.active.delete(task.id);
    return outcome;
  }

  /** Ends a held run. */
  release(taskId: string, outcome: TaskOutcome = { kind: 'succeeded' }): void {
    const finish = this.held.get(taskId);
    if (!finish) throw new Error(`no held run for task ${taskId}`);
    finish(outcome);
  }

  heldTaskIds(): string[] {
    return [...this.held.keys()];
  }

  runsOf(key: string): RunRecord[] {
    return this.runs.filter((r) => r.key === key);
  }

  private observeConcurrency(goalId: string): void {
    const active = [...this.active.values()];
    this.maxConcurrent = Math.max(this.maxConcurrent, active.length);
    const ofGoal = active.filter((r) => r.goalId === goalId);
    this.maxConcurrentByGoal.set(goalId, Math.max(this.maxConcurrentByGoal.get(goalId) ?? 0, ofGoal.length));
    const pinned = ofGoal.filter((r) => r.route === 'pinned').length;
    this.maxPinnedByGoal.set(goalId, Math.max(this.maxPinnedByGoal.get(goalId) ?? 0, pinned));
  }
}
