import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { bindGate, pullRequestInResult } from '../domain/gate-binding.js';
import { gateMatchKeys, gateSources, gateToSpec, normalizeGate, type Gate } from '../domain/gate.js';
import { decideGate, reworkFeedback } from '../domain/signal-rules.js';
import { propagateFailure, releaseDependents, rollUpGoals, taskEvent } from './tree-propagation.js';
import type { NewEvent } from './events.js';
import { addSignalMatches, lockMatchKeys, signalsForGate } from './signals.js';

/**
 * Tasks the tree holds without a session — gates waiting for a signal,
 * reviews waiting for a person — and what their decisions do: let the tree go
 * on, send the work back with feedback (rework), or fail. Every function here
 * runs inside the caller's transaction and appends the events it causes.
 */

export interface HeldTask {
  id: string;
  goalId: string;
  parentId: string | null;
  kind: 'agent' | 'wait_for_signal' | 'human_review' | 'group';
  gate: unknown;
  reworkCount: number;
}

/** How often a person's rejection may send work back before the review fails (gates carry their own `rework`). */
export const REVIEW_REWORK_LIMIT = 2;

/** The gate as stored, parsed back into its normalized form. */
export function storedGate(raw: unknown): Gate {
  const parsed = normalizeGate(raw);
  if (!parsed.ok) throw new Error(`stored gate no longer parses: ${parsed.error}`);
  return parsed.gate;
}

/** A held task lets the tree go on. False when it was not in `holding` (decided already). */
export async function succeedHeldTask(
  trx: Db,
  taskId: string,
  holding: 'waiting' | 'review',
  result: Record<string, unknown> | null,
  events: NewEvent[],
): Promise<boolean> {
  const task = await trx
    .updateTable('tasks')
    .set({ status: 'succeeded', result, error: null, gateDeadline: null, finishedAt: sql`now()`, updatedAt: sql`now()` })
    .where('id', '=', taskId)
    .where('status', '=', holding)
    .returning(['id', 'goalId', 'parentId'])
    .executeTakeFirst();
  if (!task) return false;
  events.push(taskEvent(task.goalId, task.id, holding, 'succeeded', {}));
  await releaseDependents(trx, [task], events);
  await rollUpGoals(trx, [task.goalId], events);
  return true;
}

/** A held task fails for good, and the goal with it. */
export async function failHeldTask(trx: Db, held: HeldTask, from: string, error: string, events: NewEvent[]): Promise<void> {
  await trx
    .updateTable('tasks')
    .set({ status: 'failed', error, gateDeadline: null, finishedAt: sql`now()`, updatedAt: sql`now()` })
    .where('id', '=', held.id)
    .execute();
  events.push(taskEvent(held.goalId, held.id, from, 'failed', { error }));
  await propagateFailure(trx, held, events);
}

/**
 * A failing signal or a rejection: the agent work the held task waits for
 * runs again with `feedback` in its prompt, and the held task waits again
 * (a gate re-armed: only signals from now on count). When the rework budget
 * is spent — or there is no agent work to send back — it fails instead.
 */
export async function sendBack(
  trx: Db,
  held: HeldTask,
  from: 'waiting' | 'review',
  feedback: string,
  limit: number,
  events: NewEvent[],
): Promise<'reworked' | 'failed'> {
  if (held.reworkCount >= limit) {
    await failHeldTask(trx, held, from, `${feedback}\n\n(sent back ${held.reworkCount} times already; no rework left)`, events);
    return 'failed';
  }
  if (held.kind === 'agent') {
    // An agent task held for approval is itself the work to redo; its dependents were never released.
    await trx
      .updateTable('tasks')
      .set({ status: 'pending', attemptFloor: sql`attempt`, error: feedback, reworkCount: sql`rework_count + 1`, updatedAt: sql`now()` })
      .where('id', '=', held.id)
      .execute();
    events.push(taskEvent(held.goalId, held.id, from, 'pending', { rework: held.reworkCount + 1 }));
    return 'reworked';
  }
  // The work behind the held task: its dependencies, the insides of groups
  // among them, and — through gates and reviews that already passed, which
  // must then be passed again — the work behind those.
  const { rows: behind } = await sql<{ id: string; kind: HeldTask['kind'] }>`
    WITH RECURSIVE work AS (
      SELECT t.id, t.kind, t.status FROM tasks t
      WHERE t.id IN (SELECT depends_on_id FROM task_dependencies WHERE task_id = ${held.id})
      UNION
      SELECT c.id, c.kind, c.status FROM work w
      JOIN tasks c ON (w.kind = 'group' AND c.parent_id = w.id)
                   OR (w.kind IN ('wait_for_signal', 'human_review') AND w.status = 'succeeded'
                       AND c.id IN (SELECT depends_on_id FROM task_dependencies WHERE task_id = w.id))
    )
    SELECT id, kind FROM work WHERE status = 'succeeded' AND kind <> 'group'`.execute(trx);
  const targets = behind.filter((t) => t.kind === 'agent');
  const passedHolds = behind.filter((t) => t.kind !== 'agent').map((t) => t.id);
  if (targets.length === 0) {
    await failHeldTask(trx, held, from, `${feedback}\n\n(no agent work before it to send back)`, events);
    return 'failed';
  }
  const reopened = await trx
    .updateTable('tasks')
    .set({ status: 'pending', attemptFloor: sql`attempt`, error: feedback, finishedAt: null, notBefore: null, updatedAt: sql`now()` })
    .where('id', 'in', targets.map((t) => t.id))
    .returning(['id', 'goalId'])
    .execute();
  if (passedHolds.length > 0) {
    const rearmed = await trx
      .updateTable('tasks')
      .set({ status: 'pending', gateArmedAt: sql`clock_timestamp()`, gateDeadline: null, finishedAt: null, updatedAt: sql`now()` })
      .where('id', 'in', passedHolds)
      .returning(['id', 'goalId'])
      .execute();
    reopened.push(...rearmed);
  }
  for (const task of reopened) events.push(taskEvent(task.goalId, task.id, 'succeeded', 'pending', { rework_of: held.id }));
  await unsucceed(trx, reopened.map((t) => t.id), events);
  await trx
    .updateTable('tasks')
    .set({
      status: 'pending',
      reworkCount: sql`rework_count + 1`,
      // Signals count from after this moment: not the one that sent the work back.
      gateArmedAt: sql`clock_timestamp()`,
      gateDeadline: null,
      error: feedback,
      updatedAt: sql`now()`,
    })
    .where('id', '=', held.id)
    .execute();
  events.push(taskEvent(held.goalId, held.id, from, 'pending', { rework: held.reworkCount + 1 }));
  return 'reworked';
}

/**
 * Tasks that had succeeded are open again: whatever depends on them has one
 * more unmet dependency, and a group that had succeeded around them is
 * running again (which in turn holds back what depends on the group).
 */
async function unsucceed(trx: Db, taskIds: string[], events: NewEvent[]): Promise<void> {
  let ids = taskIds;
  while (ids.length > 0) {
    await sql`
      UPDATE tasks t SET unmet_deps = t.unmet_deps + x.n, updated_at = now()
      FROM (SELECT task_id, count(*)::int AS n FROM task_dependencies
            WHERE depends_on_id = ANY(${ids}::uuid[]) GROUP BY task_id) x
      WHERE t.id = x.task_id`.execute(trx);
    const { rows: groups } = await sql<{ id: string; goalId: string }>`
      UPDATE tasks p SET status = 'running', finished_at = NULL, updated_at = now()
      WHERE p.id IN (SELECT parent_id FROM tasks WHERE id = ANY(${ids}::uuid[]) AND parent_id IS NOT NULL)
        AND p.status = 'succeeded'
      RETURNING p.id, p.goal_id`.execute(trx);
    for (const group of groups) events.push(taskEvent(group.goalId, group.id, 'succeeded', 'running', { reason: 'rework' }));
    ids = groups.map((g) => g.id);
  }
}

/**
 * Decides a waiting gate from the signals stored since it was armed, and
 * applies the decision. The caller holds the gate's match-key locks and its
 * row; `recordedSignalId` is a signal whose matches the caller records.
 */
export async function decideWaitingGate(trx: Db, held: HeldTask, events: NewEvent[], recordedSignalId?: string): Promise<'pass' | 'fail' | 'open'> {
  const gate = storedGate(held.gate);
  const signals = await signalsForGate(trx, gateMatchKeys(gate.condition), held.id);
  const decision = decideGate(gate.condition, signals);
  if (decision.state === 'open') return 'open';
  const signalIds = decision.deciding.map((s) => s.id);
  // The signal being resolved records its matches itself.
  await addSignalMatches(trx, signalIds.filter((id) => id !== recordedSignalId), [held.id]);
  if (decision.state === 'pass') {
    const last = decision.deciding[0]!;
    await succeedHeldTask(trx, held.id, 'waiting', { signal_ids: signalIds, summary: last.summary, artifacts: last.artifacts }, events);
  } else {
    await sendBack(trx, held, 'waiting', reworkFeedback('A required check failed', decision.deciding), gate.rework, events);
  }
  return decision.state;
}

/**
 * Gates that just started waiting: armed (signals count from when the work
 * they wait for began) and decided at once from signals that arrived early.
 */
export async function openGates(trx: Db, gateIds: string[], events: NewEvent[]): Promise<void> {
  if (gateIds.length === 0) return;
  const gates = await trx.selectFrom('tasks').select(['id', 'goalId', 'gate']).where('id', 'in', gateIds).execute();
  const bindings = await bindOpeningGates(trx, gates);
  await lockMatchKeys(trx, bindings.deciding.flatMap((g) => gateMatchKeys(g.condition)));
  await fileBoundGates(trx, bindings.bound);
  const { rows } = await sql<HeldTask>`
    UPDATE tasks t SET
      gate_armed_at = coalesce(t.gate_armed_at,
        (SELECT min(d.started_at) FROM tasks d JOIN task_dependencies e ON e.depends_on_id = d.id WHERE e.task_id = t.id),
        t.created_at),
      gate_deadline = CASE WHEN (t.gate->>'timeout_s') IS NULL THEN NULL
                           ELSE now() + make_interval(secs => (t.gate->>'timeout_s')::int) END
    WHERE t.id = ANY(${gateIds}::uuid[]) AND t.status = 'waiting'
    RETURNING t.id, t.goal_id, t.parent_id, t.kind, coalesce(t.gate_bound, t.gate) AS gate, t.rework_count`.execute(trx);
  for (const gate of rows) {
    const unbound = bindings.failed.get(gate.id);
    if (unbound !== undefined) await failHeldTask(trx, gate, 'waiting', unbound, events);
    else await decideWaitingGate(trx, gate, events);
  }
}

/**
 * Gates that take attributes `{from}` earlier tasks, bound to what those
 * tasks reported in their latest run (a rework that pushed again re-binds).
 * `bound`: every opening gate in the form it is decided in; `failed`: gates
 * whose source reported no pull request, with the reason.
 */
async function bindOpeningGates(trx: Db, gates: { id: string; goalId: string; gate: unknown }[]) {
  const bound = new Map<string, Gate>();
  const failed = new Map<string, string>();
  const deciding: Gate[] = [];
  for (const row of gates) {
    const declared = storedGate(row.gate);
    const sources = gateSources(declared.condition);
    if (sources.length === 0) {
      deciding.push(declared);
      continue;
    }
    const results = await trx.selectFrom('tasks').select(['key', 'result']).where('goalId', '=', row.goalId).where('key', 'in', sources).execute();
    const reports = new Map(results.map((r) => [r.key, pullRequestInResult(r.result)]));
    const binding = bindGate(declared.condition, reports);
    if (binding.ok) {
      bound.set(row.id, { ...declared, condition: binding.condition });
      deciding.push(bound.get(row.id)!);
    } else failed.set(row.id, binding.error);
  }
  return { bound, failed, deciding };
}

/** Stores each bound gate and files it under the keys of what it is bound to now. */
async function fileBoundGates(trx: Db, bound: ReadonlyMap<string, Gate>): Promise<void> {
  for (const [taskId, gate] of bound) {
    await trx.updateTable('tasks').set({ gateBound: gateToSpec(gate) }).where('id', '=', taskId).execute();
    await trx.deleteFrom('taskGateKeys').where('taskId', '=', taskId).execute();
    const keys = gateMatchKeys(gate.condition).map((matchKey) => ({ taskId, matchKey }));
    if (keys.length > 0) await trx.insertInto('taskGateKeys').values(keys).execute();
  }
}

/** Gates whose `timeout_s` ran out act as their `on_timeout` says. Returns how many were decided. */
export async function expireGateDeadlines(trx: Db, events: NewEvent[], limit = 100): Promise<number> {
  const { rows } = await sql<HeldTask>`
    SELECT id, goal_id, parent_id, kind, coalesce(gate_bound, gate) AS gate, rework_count FROM tasks
    WHERE status = 'waiting' AND gate_deadline < now()
    ORDER BY gate_deadline LIMIT ${limit}
    FOR UPDATE SKIP LOCKED`.execute(trx);
  for (const held of rows) {
    const gate = storedGate(held.gate);
    if (gate.onTimeout === 'pass') {
      await succeedHeldTask(trx, held.id, 'waiting', { timed_out: true, passed_on_timeout: true }, events);
    } else {
      await failHeldTask(trx, held, 'waiting', `the gate timed out after ${gate.timeoutS} s without a passing signal`, events);
    }
  }
  return rows.length;
}

export interface WaitingCiGate {
  id: string;
  /** As it is decided: bound when it takes its pull request `{from}` a task. */
  gate: unknown;
  gateArmedAt: Date | null;
}

/**
 * Waiting gates with a `gh_ci` part filed under a pull request (the ones the
 * checks API can decide), the most recently changed (opened) first.
 */
export async function waitingCiGates(db: Db, limit: number): Promise<WaitingCiGate[]> {
  const { rows } = await sql<WaitingCiGate>`
    SELECT t.id, coalesce(t.gate_bound, t.gate) AS gate, t.gate_armed_at FROM tasks t
    WHERE t.status = 'waiting'
      AND EXISTS (SELECT 1 FROM task_gate_keys k WHERE k.task_id = t.id AND k.match_key LIKE 'gh\\_ci|pr=%')
    ORDER BY t.updated_at DESC, t.id
    LIMIT ${limit}`.execute(db);
  return rows;
}
