import type { AgentName } from '../domain/states.js';
import type { TaskDiffReader } from '../domain/task-diff.js';
import type { TaskOutcome } from '../domain/task-rules.js';
import type { Goal } from '../store/goals.js';
import type { Task } from '../store/tasks.js';

/**
 * The seam between scheduling and agents. The orchestrator decides what runs
 * and records what happened; a runner makes it happen — real agent processes
 * in worktrees, or in tests an in-process stand-in whose outcomes the test
 * controls.
 */
export interface SessionAssignment {
  task: Task;
  goal: Goal;
  /** The attempt this run is; with the lease owner it fences the result. */
  attempt: number;
  /** Aborted when the run must stop: the goal was cancelled, the lease lost, or the instance is shutting down. */
  signal: AbortSignal;
}

export interface SessionRunner {
  /**
   * Runs the task's session and resolves with how it ended. A failure of the
   * work is an outcome, not a rejection; after `signal` aborts, the runner
   * stops its session and resolves promptly.
   */
  run(assignment: SessionAssignment): Promise<TaskOutcome>;
  /**
   * What this runner needs of a goal, checked before the goal is accepted and
   * after a failed start (to tell a failure that cannot heal). None: it needs nothing.
   */
  preflight?: GoalPreflight;
  /** Renders a task's work as a diff from git, in the repositories this runner works in. None: diffs are not available. */
  diffs?: TaskDiffReader;
  /** Before the first run: clean up what a previous process left (stale worktrees). */
  start?(): Promise<void>;
  /**
   * Ends what the given instances left running on this host — their agent
   * processes, sessions and tokens, with the agents' unfinished work kept on
   * their branches — before their tasks are handed out again. `startup`: this
   * instance is just starting (its own id is among `owners`), so sessions
   * whose owner stopped heartbeating long ago count as orphans too.
   */
  recoverOrphans?(options: { owners: string[]; startup: boolean }): Promise<void>;
  /** After the last run has ended. */
  stop?(): Promise<void>;
}

/**
 * A runner that wraps `inner`'s runs and hands every other member through
 * unchanged. Wrappers (pull requests, observation) build on this so that a
 * member added to SessionRunner later is never dropped by one of them.
 */
export function wrapRuns(inner: SessionRunner, run: SessionRunner['run']): SessionRunner {
  return {
    run,
    preflight: inner.preflight,
    diffs: inner.diffs,
    start: inner.start?.bind(inner),
    recoverOrphans: inner.recoverOrphans?.bind(inner),
    stop: inner.stop?.bind(inner),
  };
}

/** What a goal's runs need of the machine; a null field is not checked. */
export interface GoalRequirements {
  repo: string;
  baseRef: string | null;
  agent: AgentName | null;
}

/** Why every run of a goal would fail, naming the request field at fault and what to do. */
export interface GoalProblem {
  field: 'repo' | 'base_ref' | 'agent';
  message: string;
}

export type GoalPreflight = (goal: GoalRequirements) => Promise<GoalProblem | null>;
