import { planGoalTree, type PlannedTask, type TaskSpec, type TreeError, type TreeLimits } from './goal-tree.js';
import type { AgentName, ChildrenMode, SessionPolicy, TaskKind } from './states.js';

/**
 * An agent adding tasks under its own running task. The new tasks are planned
 * like a goal's children (same shape, keys, edges, limits) and then fitted into
 * the existing tree:
 *   - they become children of the agent's task, which after its own run waits
 *     for them like a group (and so do the tasks that depend on it);
 *   - `depends_on` may name the new siblings or tasks already in the goal,
 *     except those that wait for the agent's task to finish (itself, its
 *     enclosing groups, their dependents): that would wait forever;
 *   - keys are unique within the goal; the goal's task count and depth limits
 *     hold for the tree as it will be.
 * Pure: the store passes the goal's tasks and edges in.
 */

export interface SubtaskParent {
  id: string;
  depth: number;
  requiresApproval: boolean;
  sessionPolicy: SessionPolicy;
  agent: AgentName | null;
  childrenMode: ChildrenMode;
}

export interface ExistingTask {
  id: string;
  key: string;
  parentId: string | null;
  kind: TaskKind;
}

export interface PlannedSubtask extends PlannedTask {
  /** Ids of tasks already in the goal that this one waits for. */
  dependsOnExisting: string[];
}

export type SubtaskPlan = { ok: true; mode: ChildrenMode; tasks: PlannedSubtask[] } | { ok: false; errors: TreeError[] };

export function planSubtasks(
  specs: TaskSpec[],
  requestedMode: ChildrenMode | undefined,
  parent: SubtaskParent,
  goal: { tasks: ExistingTask[]; edges: { taskId: string; dependsOnId: string }[] },
  limits: TreeLimits,
): SubtaskPlan {
  const fail = (message: string, task?: string): SubtaskPlan => ({ ok: false, errors: [{ ...(task ? { task } : {}), message }] });
  if (parent.requiresApproval) return fail('a task that needs approval cannot add subtasks');
  const siblings = goal.tasks.filter((t) => t.parentId === parent.id);
  const mode = requestedMode ?? (siblings.length > 0 ? parent.childrenMode : 'sequential');
  if (siblings.length > 0 && mode !== parent.childrenMode) {
    return fail(`this task's subtasks run ${parent.childrenMode}; more cannot be added to run ${mode}`);
  }
  const all = flatten(specs, limits.maxTasks + 1);
  if (goal.tasks.length + all.length > limits.maxTasks) {
    return fail(`a goal may have at most ${limits.maxTasks} tasks; this one has ${goal.tasks.length}`);
  }
  const deepest = all.find((spec) => parent.depth + 1 + spec.depth >= limits.maxDepth);
  if (deepest) return fail(`task "${deepest.key}" would be nested deeper than ${limits.maxDepth} levels`, deepest.key);

  const existing = new Map(goal.tasks.map((t) => [t.key, t.id]));
  const newKeys = new Set(all.map((s) => s.key));
  const forbidden = waitingFor(parent.id, goal);
  const errors: TreeError[] = [];
  const external = new Map<string, string[]>();
  for (const spec of all) {
    if (existing.has(spec.key)) errors.push({ task: spec.key, message: `task key "${spec.key}" is already used in this goal` });
    for (const key of spec.depends_on ?? []) {
      const id = newKeys.has(key) ? undefined : existing.get(key);
      if (id === undefined) continue;
      if (forbidden.has(id)) {
        errors.push({ task: spec.key, message: `cannot depend on "${key}": it waits for this task's subtasks to finish` });
      }
      external.set(spec.key, [...(external.get(spec.key) ?? []), id]);
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  // A task's settings are the defaults of the tasks it adds, as a group's are of its children.
  const roots = specs.map((spec) => ({
    ...spec,
    session_policy: spec.session_policy ?? parent.sessionPolicy,
    ...(spec.agent ?? parent.agent ? { agent: (spec.agent ?? parent.agent)! } : {}),
  }));
  const plan = planGoalTree(stripExisting(roots, existing, newKeys), mode, {
    maxTasks: all.length,
    maxDepth: limits.maxDepth - (parent.depth + 1),
  });
  if (!plan.ok) return plan;

  const tasks: PlannedSubtask[] = plan.tasks.map((t) => ({
    ...t,
    depth: t.depth + parent.depth + 1,
    dependsOnExisting: [...new Set(external.get(t.key) ?? [])],
  }));
  // In sequence, the first new task follows the last one added before it.
  const lastSibling = siblings.at(-1);
  const firstRoot = tasks.find((t) => t.parentIndex === null);
  if (mode === 'sequential' && lastSibling && firstRoot) firstRoot.dependsOnExisting.push(lastSibling.id);
  // A group's outside dependencies hold its entry children, as planGoalTree does for edges inside the plan.
  for (const task of tasks) {
    if (task.kind !== 'group' || task.dependsOnExisting.length === 0) continue;
    const children = tasks.filter((t) => t.parentIndex === task.index);
    const entries = task.childrenMode === 'parallel' ? children : children.slice(0, 1);
    for (const entry of entries) entry.dependsOnExisting = [...new Set([...entry.dependsOnExisting, ...task.dependsOnExisting])];
  }
  return { ok: true, mode, tasks };
}

/** Every spec in the forest with its depth below the roots, iteratively; stops counting past `cap`. */
function flatten(specs: TaskSpec[], cap: number): (TaskSpec & { depth: number })[] {
  const out: (TaskSpec & { depth: number })[] = [];
  const stack = specs.map((spec) => ({ ...spec, depth: 0 }));
  while (stack.length > 0 && out.length <= cap) {
    const spec = stack.pop()!;
    out.push(spec);
    for (const child of spec.children ?? []) stack.push({ ...child, depth: spec.depth + 1 });
  }
  return out;
}

/** The specs with `depends_on` naming only new tasks (and unknown keys, which planGoalTree reports). */
function stripExisting(specs: TaskSpec[], existing: Map<string, string>, newKeys: Set<string>): TaskSpec[] {
  return specs.map((spec) => {
    const copy: TaskSpec = { ...spec };
    if (spec.depends_on) copy.depends_on = spec.depends_on.filter((key) => newKeys.has(key) || !existing.has(key));
    if (spec.children) copy.children = stripExisting(spec.children, existing, newKeys);
    return copy;
  });
}

/**
 * The tasks that cannot finish before `taskId` does: the task, the groups
 * enclosing anything in the set, and what depends on anything in the set.
 */
function waitingFor(taskId: string, goal: { tasks: ExistingTask[]; edges: { taskId: string; dependsOnId: string }[] }): Set<string> {
  const parentOf = new Map(goal.tasks.map((t) => [t.id, t.parentId]));
  const dependents = new Map<string, string[]>();
  for (const edge of goal.edges) dependents.set(edge.dependsOnId, [...(dependents.get(edge.dependsOnId) ?? []), edge.taskId]);
  const seen = new Set([taskId]);
  const queue = [taskId];
  while (queue.length > 0) {
    const id = queue.pop()!;
    const next = [...(dependents.get(id) ?? [])];
    const parent = parentOf.get(id);
    if (parent) next.push(parent);
    for (const n of next) {
      if (seen.has(n)) continue;
      seen.add(n);
      queue.push(n);
    }
  }
  return seen;
}
