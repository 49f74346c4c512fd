import { bindGateToTask, gateMatchKeys, gateToSpec } from '../domain/gate.js';
import type { PlannedTask } from '../domain/goal-tree.js';

/**
 * Planned tasks as rows of `tasks` and `task_gate_keys`: shared by a goal's
 * creation and an agent adding subtasks, which place the rows differently
 * (parent, order, unmet dependencies) but store every field the same way.
 */

export interface TaskPlacement {
  parentId: string | null;
  ordinal: number;
  position: number;
  unmetDeps: number;
}

export function plannedTaskRows<T extends PlannedTask>(plan: readonly T[], ids: readonly string[], goalId: string, place: (task: T) => TaskPlacement) {
  // A gate that names no task of its own waits for signals about this one.
  const gates = new Map(plan.filter((t) => t.gate).map((t) => [t.index, { ...t.gate!, condition: bindGateToTask(t.gate!.condition, ids[t.index]!) }]));
  const tasks = plan.map((t) => ({
    id: ids[t.index]!,
    goalId,
    ...place(t),
    key: t.key,
    depth: t.depth,
    title: t.title,
    instructions: t.instructions,
    acceptance: t.acceptance,
    kind: t.kind,
    sessionPolicy: t.sessionPolicy,
    route: t.route,
    childrenMode: t.childrenMode,
    agent: t.agent,
    status: 'pending' as const,
    priority: t.priority,
    maxAttempts: t.maxAttempts,
    timeoutS: t.timeoutS,
    requiresApproval: t.requiresApproval,
    gate: gates.has(t.index) ? gateToSpec(gates.get(t.index)!) : null,
    metadata: t.metadata,
  }));
  const gateKeys = [...gates].flatMap(([index, gate]) => gateMatchKeys(gate.condition).map((matchKey) => ({ taskId: ids[index]!, matchKey })));
  return { tasks, gateKeys };
}
