import os from 'node:os';
import { isDatabaseUnavailable } from '../db/availability.js';
import type { Db } from '../db/database.js';
import type { NotificationListener } from '../db/notification-listener.js';
import type { RetryPolicy, TaskOutcome } from '../domain/task-rules.js';
import { ownProcess } from '../host/proc-stat.js';
import type { Logger } from '../logger.js';
import { expireLeases, releaseTasks, renewLeases, type CompletionReport } from '../store/completion.js';
import { activateReadyTasks, claimReadyTasks, completeAndClaim, sweepGateDeadlines, type ClaimedTask } from '../store/dispatch.js';
import { renewLanes } from '../store/goal-lanes.js';
import { heartbeatInstance, registerInstance, removeInstances } from '../store/instances.js';
import { recoverDeadInstances } from './dead-instances.js';
import { OutcomeQueue } from './outcome-queue.js';
import type { SessionRunner } from './session-runner.js';
import { SpawnLimiter } from './spawn-limiter.js';

/** Batches of outcomes one pass records before it moves on to the sweeps and claims. */
const RECORD_ROUNDS = 4;

export interface OrchestratorOptions {
  instanceId: string;
  /** This machine's name, as sessions record it; defaults to os.hostname(). */
  host?: string;
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
  private readonly outcomes: OutcomeQueue;
  private readonly spawnLimiter: SpawnLimiter;
  private tickPromise: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private started = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastExpiry = 0;
  /** Set by a graceful stop: running sessions may finish, nothing new is claimed. */
  private draining = false;
  private readonly drainCut = new AbortController();
  private readonly host: string;
  /** Whether an activation pass could find something: after a change we did not make ourselves, or one that released a hold. */
  private holdsMayBeReady = true;
  /** Set by the poll, a reconnect or the start: look at everything on the next pass. */
  private wokenUp = true;
  private readonly wake = () => {
    this.holdsMayBeReady = true;
    this.kick();
  };
  /**
   * Our own one-statement hops and claims NOTIFY too, and hearing them back
   * says nothing we do not know (what they released is in their report). Each
   * returns the event id its NOTIFY carries: a notification is ours if its id
   * was noted before it arrived (`ownNotifications`) or is noted after it
   * (then it waits in `heard`, which the next pass reads). Bounded: an id
   * whose notification never comes (a reconnect) is dropped with the rest.
   */
  private readonly ownNotifications = new Set<string>();
  private readonly heard = new Set<string>();
  private readonly onNotification = (payload: string) => {
    if (this.ownNotifications.delete(payload)) return;
    this.heard.add(payload);
    this.schedule();
  };

  constructor(
    private readonly deps: { db: Db; runner: SessionRunner; logger: Logger; notifications?: NotificationListener },
    private readonly options: OrchestratorOptions,
  ) {
    this.spawnLimiter = new SpawnLimiter(options.spawnPerSecond, options.spawnBurst);
    this.host = options.host ?? os.hostname();
    this.outcomes = new OutcomeQueue(deps, { owner: options.instanceId, retry: options.retry, onReport: (report) => this.noteReport(report) });
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
    const self = ownProcess();
    await registerInstance(this.deps.db, { id: this.options.instanceId, host: this.host, pid: self.pid, pidStartedAt: self.startTime });
    // What a previous process under this id, or a dead neighbour, left running
    // must be gone before any of its tasks is handed out again.
    await this.recoverDeadInstances(true);
    await this.deps.runner.start?.();
    this.deps.notifications?.on('notification', this.onNotification);
    this.deps.notifications?.on('reconnected', this.wake);
    this.pollTimer = setInterval(this.wake, this.options.pollIntervalMs);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.min(this.options.leaseMs / 3, 1000));
    this.kick();
  }

  /**
   * The first half of a graceful stop: nothing new is claimed, and running
   * sessions get up to `drainMs` to finish on their own (their outcomes are
   * recorded as usual). `cutDrain()` ends the wait early. Never throws.
   */
  async drain(drainMs: number): Promise<void> {
    if (!this.started || this.stopping || this.draining) return;
    this.draining = true;
    if (this.running.size === 0 || drainMs <= 0) return;
    this.deps.logger.info({ sessions: this.running.size, drain_ms: drainMs }, 'draining: running sessions may finish, nothing new starts');
    const deadline = Date.now() + drainMs;
    const cut = new Promise((resolve) => this.drainCut.signal.addEventListener('abort', resolve, { once: true }));
    while (this.running.size > 0 && Date.now() < deadline && !this.drainCut.signal.aborted) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.race([...this.running.values()].map((s) => s.done)),
        new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now()))),
        cut,
      ]);
      clearTimeout(timer);
    }
    // Record what finished while draining before the stop goes on.
    this.kick();
    await this.tickPromise;
    if (this.running.size > 0) this.deps.logger.info({ sessions: this.running.size }, 'drain over: stopping the sessions still running');
  }

  /** Ends a drain in progress now (a second signal): the stop goes on at once. */
  cutDrain(): void {
    this.drainCut.abort();
  }

  /**
   * Stops this instance's part in the work, and never throws: a shutdown must
   * get to the end whatever the database does meanwhile. Running sessions are
   * stopped and their tasks handed back without counting the interrupted
   * attempt (their work stays committed on their branches for the next one),
   * after the transition in flight has committed. Every task ends up recorded
   * with its outcome or pending again; what cannot be written now (the
   * database is gone) is left to lease expiry and to the next instance on this
   * host, which sees that this process is gone.
   */
  async stop(): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.deps.notifications?.off('notification', this.onNotification);
    this.deps.notifications?.off('reconnected', this.wake);
    await this.tickPromise;
    // Outcomes that arrived before the stop are real results: record them.
    await this.step('recording outcomes at stop', () => this.outcomes.flush());
    const interrupted = [...this.running.values()];
    for (const session of interrupted) session.controller.abort(new Error('instance stopping'));
    await Promise.race([
      Promise.allSettled(interrupted.map((s) => s.done)),
      new Promise((resolve) => setTimeout(resolve, this.options.stopGraceMs)),
    ]);
    const released = await this.step('handing tasks back', () =>
      releaseTasks(
        this.deps.db,
        this.options.instanceId,
        interrupted.map((s) => ({ taskId: s.taskId, attempt: s.attempt })),
      ),
    );
    this.outcomes.clear();
    this.running.clear();
    await this.step('stopping the runner', async () => this.deps.runner.stop?.());
    // Handed everything back: nobody needs to find this instance dead.
    if (released !== undefined) {
      await this.step('deregistering', () => removeInstances(this.deps.db, [{ id: this.options.instanceId, pid: process.pid }]));
    }
  }

  /** Runs one step of a shutdown; a failure is logged and the shutdown goes on. */
  private async step<T>(what: string, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      this.deps.logger.error({ err }, `orchestrator stop: ${what} failed`);
      return undefined;
    }
  }

  /** Asks for a tick soon that looks at everything; many asks while one runs become one more pass. */
  kick(): void {
    this.wokenUp = true;
    this.schedule();
  }

  /** A pass soon, for what the caller queued (an outcome) or heard (a notification). */
  private schedule(): void {
    if (this.stopping || !this.started) return;
    if (this.tickPromise) {
      this.again = true;
      return;
    }
    this.tickPromise = this.loop().finally(() => {
      this.tickPromise = null;
      // Asked for between the loop's last look at `again` and now: that ask must not be lost.
      if (this.again) this.schedule();
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.tick();
    } while (this.again && !this.stopping);
  }

  /**
   * One pass. Each phase stands on its own: an outcome the database refuses,
   * or a failing sweep, must not keep the others — expiring dead leases,
   * claiming new work — from running. A phase that failed because the
   * database is away is simply tried again on the next wake-up or poll.
   */
  private async tick(): Promise<void> {
    const { db } = this.deps;
    // Whether a claim now could find what no claim of ours has looked at: something changed that we
    // did not do, or the last claim of this pass did not see all ready work.
    let claimMayFind = this.takeWakeUp();
    const recorded = await this.phase('recording outcomes', async () => {
      // Each batch with the claim of what it released. Outcomes beyond the rounds are left for
      // another pass at once, so the sweeps below still get their turn.
      for (let round = 0; round < RECORD_ROUNDS && this.outcomes.size > 0 && !this.stopping; round++) {
        claimMayFind = await this.completeAndClaim();
      }
      // Outcomes queued before this pass began asked for a pass that `loop` has already begun:
      // nothing else would ask for the next one before the poll.
      if (this.outcomes.size > 0) this.again = true;
    });
    if (!recorded) claimMayFind = true;
    if (this.stopping) return;
    const now = Date.now();
    if (now - this.lastExpiry >= this.options.pollIntervalMs) {
      this.lastExpiry = now;
      claimMayFind = true;
      await this.phase('recovering dead instances', () => this.recoverDeadInstances(false));
      await this.phase('expiring leases', async () => {
        while ((await expireLeases(db, this.options.retry)).more) {}
      });
      await this.phase('sweeping gate deadlines', async () => {
        while ((await sweepGateDeadlines(db)).more) {}
      });
    }
    if (this.holdsMayBeReady) {
      this.holdsMayBeReady = false;
      const activated = await this.phase('activating holds', async () => {
        for (;;) {
          const { count, more } = await activateReadyTasks(db);
          // A gate that opened on a signal already there may have released agent tasks.
          if (count > 0) claimMayFind = true;
          if (!more) break;
        }
      });
      if (!activated) this.holdsMayBeReady = true;
    }
    // Skipped when this tick's completions already claimed with a window that saw all ready work:
    // anything ready since then was committed by someone else, whose NOTIFY wakes another pass.
    if (!claimMayFind) return;
    await this.phase('claiming', async () => {
      while (!this.stopping) {
        const options = this.claimOptions();
        if (options.capacity <= 0) break;
        const { claimed, more, notified } = await claimReadyTasks(db, options);
        this.noteOwnNotification(notified);
        this.dispatchAll(claimed);
        if (!more || claimed.length === 0) break;
      }
    });
  }

  /** True when the phase ran to its end. */
  private async phase(what: string, work: () => Promise<void>): Promise<boolean> {
    try {
      await work();
      return true;
    } catch (err) {
      const level = isDatabaseUnavailable(err) ? 'warn' : 'error';
      this.deps.logger[level]({ err }, `orchestrator: ${what} failed`);
      return false;
    }
  }

  private recoverDeadInstances(startup: boolean): Promise<void> {
    return recoverDeadInstances(this.deps, { instanceId: this.options.instanceId, host: this.host, retry: this.options.retry, startup });
  }

  private claimOptions() {
    return {
      owner: this.options.instanceId,
      capacity: this.draining ? 0 : this.options.maxSessions - this.running.size,
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
  private async completeAndClaim(): Promise<boolean> {
    if (this.stopping) return true;
    const options = this.claimOptions();
    const answer = await this.outcomes.recordNext((batch) => completeAndClaim(this.deps.db, batch, this.options.retry, options));
    if (!answer) return true;
    this.noteOwnNotification(answer.notified);
    this.dispatchAll(answer.claimed);
    // It looked at all ready work unless its window filled up, or it had no room to claim.
    return answer.more || options.capacity <= 0;
  }

  private noteOwnNotification(eventId: string | null): void {
    if (eventId === null || this.heard.delete(eventId)) return;
    if (this.ownNotifications.size >= 256) this.ownNotifications.clear();
    this.ownNotifications.add(eventId);
  }

  /** Whether something we did not do asked for this pass; a notification from someone else may have readied a hold. */
  private takeWakeUp(): boolean {
    const woken = this.wokenUp || this.heard.size > 0;
    if (this.heard.size > 0) this.holdsMayBeReady = true;
    this.wokenUp = false;
    this.heard.clear();
    return woken;
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
        this.outcomes.push({ taskId: task.id, attempt: task.attempt, outcome });
        this.schedule();
      });
    this.running.set(task.id, session);
  }

  /**
   * Renews our leases, and stops sessions whose lease we no longer hold: the
   * goal was cancelled, or the lease expired and the task went to another run.
   */
  private async heartbeat(): Promise<void> {
    if (this.stopping) return;
    try {
      if (!(await heartbeatInstance(this.deps.db, this.options.instanceId))) {
        const self = ownProcess();
        await registerInstance(this.deps.db, { id: this.options.instanceId, host: this.host, pid: self.pid, pidStartedAt: self.startTime });
      }
      // The pinned lanes this instance holds stay here while it lives, idle or not.
      await renewLanes(this.deps.db, this.options.instanceId, this.options.leaseMs);
      if (this.running.size === 0) return;
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
