import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { appendEvents, type NewEvent } from './events.js';
import { randomUUID } from 'node:crypto';
import { reworkFeedback } from '../domain/signal-rules.js';
import { taskEvent } from './tree-propagation.js';
import { REVIEW_REWORK_LIMIT, sendBack, storedGate, succeedHeldTask } from './holds.js';
import { addSignalMatches, insertSignal } from './signals.js';
import type { Task } from './tasks.js';
import { inTransaction, withEvents } from './transactions.js';

/** What a person can do to one task, and why it may be refused. */
export type TaskCommandResult = { outcome: 'applied'; task: Task } | { outcome: 'not_found' } | { outcome: 'conflict'; reason: string };

/**
 * Runs a failed or blocked task again with a fresh budget of attempts, and
 * undoes what its failure caused: dependents it skipped are pending again,
 * enclosing groups and the goal that failed with it are open again.
 */
export async function retryTask(db: Db, taskId: string): Promise<TaskCommandResult> {
  return inTransaction(db, async (trx) => {
    const found = await trx.selectFrom('tasks').select(['goalId']).where('id', '=', taskId).executeTakeFirst();
    if (!found) return { outcome: 'not_found' };
    // Goal first, then tasks: the lock order of every goal-wide change.
    const goal = await trx.selectFrom('goals').select(['id', 'status']).where('id', '=', found.goalId).forUpdate().executeTakeFirstOrThrow();
    const task = await trx.selectFrom('tasks').selectAll().where('id', '=', taskId).forUpdate().executeTakeFirstOrThrow();
    if (task.status !== 'failed' && task.status !== 'blocked') {
      return { outcome: 'conflict', reason: `only a failed or blocked task can be retried; this one is ${task.status}` };
    }
    if (goal.status === 'cancelled') return { outcome: 'conflict', reason: 'the goal is cancelled' };

    const events: NewEvent[] = [];
    const retried = await trx
      .updateTable('tasks')
      .set({
        status: 'pending',
        attemptFloor: sql`attempt`,
        notBefore: null,
        finishedAt: null,
        leaseOwner: null,
        leaseExpiresAt: null,
        updatedAt: sql`now()`,
      })
      .where('id', '=', taskId)
      .returningAll()
      .executeTakeFirstOrThrow();
    events.push(taskEvent(task.goalId, task.id, task.status, 'pending', { reason: 'retry' }));

    const reopened = [taskId];
    let parentId = task.parentId;
    while (parentId) {
      const parent = await trx
        .updateTable('tasks')
        .set({ status: sql`CASE WHEN started_at IS NULL THEN 'pending' ELSE 'running' END`, error: null, finishedAt: null, updatedAt: sql`now()` })
        .where('id', '=', parentId)
        .where('status', '=', 'failed')
        .returning(['id', 'parentId', 'status'])
        .executeTakeFirst();
      if (!parent) break;
      events.push(taskEvent(task.goalId, parent.id, 'failed', parent.status, { reason: 'retry', of: taskId }));
      reopened.push(parent.id);
      parentId = parent.parentId;
    }

    let frontier = reopened;
    while (frontier.length > 0) {
      const { rows } = await sql<{ id: string }>`
        UPDATE tasks t SET status = 'pending', finished_at = NULL, updated_at = now()
        WHERE t.status = 'skipped'
          AND t.id IN (SELECT task_id FROM task_dependencies WHERE depends_on_id = ANY(${frontier}::uuid[]))
        RETURNING t.id`.execute(trx);
      for (const row of rows) events.push(taskEvent(task.goalId, row.id, 'skipped', 'pending', { reason: 'retry', of: taskId }));
      frontier = rows.map((r) => r.id);
    }

    if (goal.status === 'failed') {
      await trx.updateTable('goals').set({ status: 'running', finishedAt: null, updatedAt: sql`now()` }).where('id', '=', goal.id).execute();
      events.push({ type: 'goal.status_changed', goalId: goal.id, data: { from: goal.status, to: 'running', reason: 'retry' } });
    }
    await appendEvents(trx, events);
    return { outcome: 'applied', task: retried };
  });
}

/**
 * A held task lets the tree go on: a gate that got its passing signal, a
 * review that was approved. Guarded by the state it holds in, so a second
 * pass (a duplicate signal, a double click) is a conflict, not a double
 * release of its dependents.
 */
export async function passHold(
  db: Db,
  taskId: string,
  holding: 'waiting' | 'review',
  result: Record<string, unknown> | null = null,
): Promise<TaskCommandResult> {
  return withEvents(db, async (trx, events) => {
    if (!(await succeedHeldTask(trx, taskId, holding, result, events))) {
      const exists = await trx.selectFrom('tasks').select('status').where('id', '=', taskId).executeTakeFirst();
      return exists ? { outcome: 'conflict', reason: `the task is ${exists.status}, not ${holding}` } : { outcome: 'not_found' };
    }
    return { outcome: 'applied', task: await readTask(trx, taskId) };
  });
}

export interface Verdict {
  status: 'pass' | 'fail';
  summary?: string;
  artifacts?: unknown;
}

/**
 * Decides one waiting gate directly (`POST /api/tasks/:id/signal`): stored as
 * a signal like any other, then applied to this gate alone.
 */
export async function signalGate(db: Db, taskId: string, verdict: Verdict): Promise<TaskCommandResult> {
  return inTransaction(db, async (trx) => {
    const held = await lockHeld(trx, taskId);
    if (!held) return { outcome: 'not_found' };
    if (held.status !== 'waiting') return { outcome: 'conflict', reason: `the task is ${held.status}, not waiting for a signal` };
    const gate = storedGate(held.gate);
    const signal = await insertSignal(trx, {
      id: randomUUID(),
      type: 'task_signal',
      attributes: { task_id: taskId },
      matchKeys: [],
      status: verdict.status,
      summary: verdict.summary ?? null,
      artifacts: verdict.artifacts,
      idempotencyKey: null,
      source: 'api',
    });
    await addSignalMatches(trx, [signal.signal.id], [taskId]);
    const events: NewEvent[] = [];
    if (verdict.status === 'pass') {
      await succeedHeldTask(trx, taskId, 'waiting', { signal_ids: [signal.signal.id], summary: verdict.summary ?? null }, events);
    } else {
      await sendBack(trx, held, 'waiting', reworkFeedback('A required check failed', [signal.signal]), gate.rework, events);
    }
    await appendEvents(trx, events);
    return { outcome: 'applied', task: await readTask(trx, taskId) };
  });
}

/** A person approves a task in review: the tree goes on. */
export async function approveTask(db: Db, taskId: string, comment: string | null): Promise<TaskCommandResult> {
  return inTransaction(db, async (trx) => {
    const held = await lockHeld(trx, taskId);
    if (!held) return { outcome: 'not_found' };
    if (held.status !== 'review') return { outcome: 'conflict', reason: `the task is ${held.status}, not in review` };
    const events: NewEvent[] = [];
    const previous = (await trx.selectFrom('tasks').select('result').where('id', '=', taskId).executeTakeFirstOrThrow()).result;
    const result = { ...(isRecord(previous) ? previous : {}), approved: true, ...(comment ? { comment } : {}) };
    await succeedHeldTask(trx, taskId, 'review', result, events);
    await appendEvents(trx, events);
    return { outcome: 'applied', task: await readTask(trx, taskId) };
  });
}

/** A person rejects a task in review: the work goes back with their feedback, or the review fails when rework is spent. */
export async function rejectTask(db: Db, taskId: string, feedback: string): Promise<TaskCommandResult> {
  return inTransaction(db, async (trx) => {
    const held = await lockHeld(trx, taskId);
    if (!held) return { outcome: 'not_found' };
    if (held.status !== 'review') return { outcome: 'conflict', reason: `the task is ${held.status}, not in review` };
    const events: NewEvent[] = [];
    await sendBack(trx, held, 'review', `A reviewer sent this back:\n${feedback}`, REVIEW_REWORK_LIMIT, events);
    await appendEvents(trx, events);
    return { outcome: 'applied', task: await readTask(trx, taskId) };
  });
}

async function lockHeld(trx: Db, taskId: string) {
  return trx
    .selectFrom('tasks')
    .select(['id', 'goalId', 'parentId', 'kind', 'gate', 'reworkCount', 'status'])
    .where('id', '=', taskId)
    .forUpdate()
    .executeTakeFirst();
}

async function readTask(trx: Db, taskId: string): Promise<Task> {
  return trx.selectFrom('tasks').selectAll().where('id', '=', taskId).executeTakeFirstOrThrow();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
