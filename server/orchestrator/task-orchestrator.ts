import type { Db } from '../db/database.js';
import type { NotificationListener } from '../db/notification-listener.js';
import type { RetryPolicy, TaskOutcome } from '../domain/task-rules.js';
import type { Logger } from '../logger.js';
import {
  completeTasks,
  expireLeases,
  reclaimOwnedTasks,
  releaseTasks,
  renewLeases,
  type Completion,
  type CompletionReport,
} from '../store/completion.js';
import { activateReadyTasks, claimReadyTasks, completeAndClaim, sweepGateDeadlines, type ClaimedTask } from '../store/dispatch.js';
import type { SessionRunner } from './session-runner.js';
import { SpawnLimiter } from './spawn-limiter.js';

export interface OrchestratorOptions {
  instanceId: string;
  /** Sessions this instance runs at once, over all goals. */
  maxSessions: number;
  leaseMs: number;
  /** The fallback wake-up when no notification arrives. */
  pollIntervalMs: number;
  retry: RetryPolicy;
  spawnPerSecond: number;
  spawnBurst: number;
  /** How long `stop()` waits for stopped sessions to report before releasing their tasks anyway. */
  stopGraceMs: number;
}

interface RunningSession {
  taskId: string;
  goalId: string;
  attempt: number;
  controller: AbortController;
  done: Promise<void>;
}

/** Largest number of completions applied in one transaction. */
const COMPLETION_BATCH = 500;

/**
 * Ticks over every open goal: expires dead leases, moves ready groups, gates
 * and reviews into their holding states, claims ready agent tasks up to this
 * instance's capacity and hands each to the runner, and records outcomes.
 *
 * A tick runs when a notification says something changed (a new goal, a
 * finished task, a signal), when a session of ours ends, and on a slow poll
 * as the fallback. Ticks never overlap: a wake-up during a tick makes the
 * tick loop once more. There is no recursion and no loop without an end — a
 * claim is the only way a task starts, and each claim takes a pending task
 * and leaves it running.
 */
export class TaskOrchestrator {
  private readonly running = new Map<string, RunningSession>();
  private readonly completions: Completion[] = [];
  private readonly spawnLimiter: SpawnLimiter;
  private tickPromise: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private started = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastExpiry = 0;
  /** Whether an activation pass could find something: after a change we did not make ourselves, or one that released a hold. */
  private holdsMayBeReady = true;
  private readonly wake = () => {
    this.holdsMayBeReady = true;
    this.kick();
  };

  constructor(
    private readonly deps: { db: Db; runner: SessionRunner; logger: Logger; notifications?: NotificationListener },
    private readonly options: OrchestratorOptions,
  ) {
    this.spawnLimiter = new SpawnLimiter(options.spawnPerSecond, options.spawnBurst);
  }

  get instanceId(): string {
    return this.options.instanceId;
  }

  /** Task ids this instance is running now. */
  runningTaskIds(): string[] {
    return [...this.running.keys()];
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // Orphaned agents of a previous run must be gone before their tasks are handed out again.
    await this.deps.runner.start?.();
    const reclaimed = await reclaimOwnedTasks(this.deps.db, this.options.instanceId, this.options.retry);
    if (reclaimed > 0) this.deps.logger.warn({ reclaimed }, 'tasks this instance ran before it restarted were retried');
    this.deps.notifications?.on('notification', this.wake);
    this.deps.notifications?.on('reconnected', this.wake);
    this.pollTimer = setInterval(this.wake, this.options.pollIntervalMs);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.min(this.options.leaseMs / 3, 1000));
    this.kick();
  }

  /**
   * Stops dispatching, stops this instance's sessions and hands their tasks
   * back (without counting the interrupted attempt), after the transition in
   * flight has committed. Nothing is left half-done: every task is either
   * recorded with its outcome or pending again.
   */
  async stop(): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.deps.notifications?.off('notification', this.wake);
    this.deps.notifications?.off('reconnected', this.wake);
    await this.tickPromise;
    // Outcomes that arrived before the stop are real results: record them.
    await this.flushCompletions();
    const interrupted = [...this.running.values()];
    for (const session of interrupted) session.controller.abort(new Error('instance stopping'));
    await Promise.race([
      Promise.allSettled(interrupted.map((s) => s.done)),
      new Promise((resolve) => setTimeout(resolve, this.options.stopGraceMs)),
    ]);
    await releaseTasks(
      this.deps.db,
      this.options.instanceId,
      interrupted.map((s) => ({ taskId: s.taskId, attempt: s.attempt })),
    );
    this.completions.length = 0;
    this.running.clear();
    await this.deps.runner.stop?.();
  }

  /** Asks for a tick soon; many asks while one runs become one more pass. */
  kick(): void {
    if (this.stopping || !this.started) return;
    if (this.tickPromise) {
      this.again = true;
      return;
    }
    this.tickPromise = this.loop().finally(() => {
      this.tickPromise = null;
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.tick();
      } catch (err) {
        // The database may be briefly unreachable; the next wake-up or poll tries again.
        this.deps.logger.error({ err }, 'orchestrator tick failed');
        return;
      }
    } while (this.again && !this.stopping);
  }

  private async tick(): Promise<void> {
    const { db } = this.deps;
    await this.completeAndClaim();
    await this.flushCompletions();
    if (this.stopping) return;
    const now = Date.now();
    if (now - this.lastExpiry >= this.options.pollIntervalMs) {
      this.lastExpiry = now;
      while ((await expireLeases(db, this.options.retry)) === 100) {}
      while ((await sweepGateDeadlines(db)) === 100) {}
    }
    if (this.holdsMayBeReady) {
      this.holdsMayBeReady = false;
      while ((await activateReadyTasks(db)) === 1000) {}
    }
    while (!this.stopping) {
      const options = this.claimOptions();
      if (options.capacity <= 0) break;
      const { claimed, more } = await claimReadyTasks(db, options);
      this.dispatchAll(claimed);
      if (!more || claimed.length === 0) break;
    }
  }

  private claimOptions() {
    return {
      owner: this.options.instanceId,
      capacity: this.options.maxSessions - this.running.size,
      spawnBudget: this.spawnLimiter.available(),
      leaseMs: this.options.leaseMs,
    };
  }

  private dispatchAll(claimed: ClaimedTask[]): void {
    this.spawnLimiter.take(claimed.filter((c) => c.task.route === 'spawned').length);
    for (const assignment of claimed) this.dispatch(assignment);
  }

  /**
   * The hot path: record the runs that just ended and claim what they
   * released in the same transaction, so a chain of tasks pays one commit
   * per step. (What it does not claim — work behind a hold, more than one
   * window — the rest of the tick picks up.)
   */
  private async completeAndClaim(): Promise<void> {
    if (this.completions.length === 0 || this.stopping) return;
    const batch = this.completions.splice(0, COMPLETION_BATCH);
    try {
      const { report, claimed } = await completeAndClaim(this.deps.db, batch, this.options.retry, this.claimOptions());
      this.noteReport(report);
      this.dispatchAll(claimed);
    } catch (err) {
      this.completions.unshift(...batch);
      throw err;
    }
  }

  private noteReport(report: CompletionReport): void {
    if (report.holdsReady) this.holdsMayBeReady = true;
    if (report.stale.length > 0) {
      this.deps.logger.warn({ tasks: report.stale }, 'late results refused: the tasks were no longer ours');
    }
  }

  private dispatch({ task, goal }: ClaimedTask): void {
    const controller = new AbortController();
    const session: RunningSession = {
      taskId: task.id,
      goalId: goal.id,
      attempt: task.attempt,
      controller,
      done: Promise.resolve(),
    };
    session.done = this.deps.runner
      .run({ task, goal, attempt: task.attempt, signal: controller.signal })
      .catch((err): TaskOutcome => ({ kind: 'failed', error: `runner error: ${(err as Error).message ?? err}` }))
      .then((outcome) => {
        // A session stopped by the shutdown is released by stop(), not recorded as a failure.
        if (this.stopping && controller.signal.aborted) return;
        this.running.delete(task.id);
        this.completions.push({ taskId: task.id, attempt: task.attempt, outcome });
        this.kick();
      });
    this.running.set(task.id, session);
  }

  private async flushCompletions(): Promise<void> {
    while (this.completions.length > 0) {
      const batch = this.completions.splice(0, COMPLETION_BATCH);
      try {
        this.noteReport(await completeTasks(this.deps.db, this.options.instanceId, batch, this.options.retry));
      } catch (err) {
        // Keep them for the next tick: an outcome is never dropped because the database hiccuped.
        this.completions.unshift(...batch);
        throw err;
      }
    }
  }

  /**
   * Renews our leases, and stops sessions whose lease we no longer hold: the
   * goal was cancelled, or the lease expired and the task went to another run.
   */
  private async heartbeat(): Promise<void> {
    if (this.stopping || this.running.size === 0) return;
    try {
      const lost = await renewLeases(this.deps.db, this.options.instanceId, [...this.running.keys()], this.options.leaseMs);
      for (const taskId of lost) {
        const session = this.running.get(taskId);
        if (session && !session.controller.signal.aborted) {
          this.deps.logger.info({ task: taskId }, 'lease no longer held; stopping its session');
          session.controller.abort(new Error('lease lost'));
        }
      }
    } catch (err) {
      this.deps.logger.warn({ err }, 'lease renewal failed');
    }
  }
}
