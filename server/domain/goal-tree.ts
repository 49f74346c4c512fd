import { gateSources, normalizeGate, type Gate } from './gate.js';
import { PullRequestRequestSchema, type PullRequestRequest } from './pull-request-request.js';
import type { AgentName, ChildrenMode, SessionPolicy, TaskKind, TaskRoute } from './states.js';

/**
 * Turning the nested task tree a user posts into flat rows and dependency edges.
 *
 * Everything that orders work becomes an edge, so that readiness later is a
 * single rule ("all my dependencies succeeded or were skipped"):
 *   - `depends_on` by key;
 *   - sequential siblings: each depends on the one before it;
 *   - a group's own dependencies: the group's entry children (the first child
 *     of a sequential group, every child of a parallel one) inherit them.
 * A group itself is never dispatched; it rolls up from its children.
 */

/** One task as the API (or a goal file) states it. Field names are the wire format. */
export interface TaskSpec {
  key: string;
  title: string;
  instructions?: string;
  acceptance?: string;
  kind?: TaskKind;
  session_policy?: SessionPolicy;
  children_mode?: ChildrenMode;
  agent?: AgentName;
  depends_on?: string[];
  children?: TaskSpec[];
  gate?: unknown;
  priority?: number;
  max_attempts?: number;
  timeout_s?: number;
  requires_approval?: boolean;
  /** Arbor opens (or updates) this pull request when the task's run succeeds; kept in metadata.pull_request. */
  pull_request?: PullRequestRequest;
  metadata?: Record<string, unknown>;
}

export interface TreeLimits {
  maxTasks: number;
  maxDepth: number;
}

export interface PlannedTask {
  index: number;
  key: string;
  parentIndex: number | null;
  position: number;
  depth: number;
  title: string;
  instructions: string;
  acceptance: string | null;
  kind: TaskKind;
  sessionPolicy: SessionPolicy;
  route: TaskRoute;
  childrenMode: ChildrenMode;
  agent: AgentName | null;
  priority: number;
  maxAttempts: number;
  timeoutS: number | null;
  requiresApproval: boolean;
  gate: Gate | null;
  metadata: Record<string, unknown>;
  /** Indexes of the tasks this one waits for, deduplicated. */
  dependsOn: number[];
}

export interface TreeError {
  /** The key of the offending task, when there is one. */
  task?: string;
  message: string;
}

export type TreePlan = { ok: true; tasks: PlannedTask[] } | { ok: false; errors: TreeError[] };

export const TASK_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const DEFAULT_MAX_ATTEMPTS = 2;

/** How many errors one answer lists; past that the user fixes the first ones and tries again. */
const MAX_REPORTED_ERRORS = 50;

export function planGoalTree(roots: TaskSpec[], rootMode: ChildrenMode, limits: TreeLimits): TreePlan {
  const total = countTasks(roots, limits.maxTasks);
  if (total > limits.maxTasks) {
    return { ok: false, errors: [{ message: `a goal may have at most ${limits.maxTasks} tasks` }] };
  }
  if (total === 0) return { ok: false, errors: [{ message: 'a goal needs at least one task' }] };

  const errors: TreeError[] = [];
  const tasks: PlannedTask[] = [];
  const specs: TaskSpec[] = [];
  const byKey = new Map<string, number>();

  // Preorder walk with an explicit stack: deep trees cannot overflow the call stack.
  type Frame = { spec: TaskSpec; parent: number | null; position: number; depth: number };
  const stack: Frame[] = roots.map((spec, position) => ({ spec, parent: null, position, depth: 0 })).reverse();
  while (stack.length > 0) {
    const { spec, parent, position, depth } = stack.pop()!;
    const index = tasks.length;
    const parentTask = parent === null ? null : tasks[parent]!;
    const siblingsMode = parentTask ? parentTask.childrenMode : rootMode;
    const planned = planTask(spec, index, parentTask, siblingsMode, position, depth, limits, errors);
    tasks.push(planned);
    specs.push(spec);
    if (byKey.has(spec.key)) errors.push({ task: spec.key, message: `duplicate task key "${spec.key}"` });
    else byKey.set(spec.key, index);
    const children = spec.children ?? [];
    for (let i = children.length - 1; i >= 0; i--) {
      stack.push({ spec: children[i]!, parent: index, position: i, depth: depth + 1 });
    }
  }
  if (errors.length > 0) return { ok: false, errors: errors.slice(0, MAX_REPORTED_ERRORS) };

  const childrenOf = groupChildren(tasks);
  const deps = tasks.map(() => new Set<number>());
  for (const [i, spec] of specs.entries()) {
    for (const key of spec.depends_on ?? []) {
      const target = byKey.get(key);
      if (target === undefined) errors.push({ task: spec.key, message: `depends_on names unknown task "${key}"` });
      else if (target === i) errors.push({ task: spec.key, message: `task "${key}" depends on itself` });
      else deps[i]!.add(target);
    }
  }
  if (errors.length > 0) return { ok: false, errors: errors.slice(0, MAX_REPORTED_ERRORS) };

  addSequentialEdges(childrenOf.get(null) ?? [], rootMode, deps);
  for (const task of tasks) {
    if (task.kind === 'group') addSequentialEdges(childrenOf.get(task.index) ?? [], task.childrenMode, deps);
  }
  // Preorder means a parent's dependency set is final before its children inherit it.
  for (const task of tasks) {
    if (task.kind !== 'group') continue;
    const children = childrenOf.get(task.index) ?? [];
    const entries = task.childrenMode === 'parallel' ? children : children.slice(0, 1);
    for (const entry of entries) for (const dep of deps[task.index]!) deps[entry]!.add(dep);
  }

  const cycle = findCycle(tasks, deps, childrenOf);
  if (cycle) {
    const path = cycle.map((i) => tasks[i]!.key).join(' -> ');
    return { ok: false, errors: [{ task: tasks[cycle[0]!]!.key, message: `dependency cycle: ${path}` }] };
  }
  for (const task of tasks) task.dependsOn = [...deps[task.index]!];
  const sourceErrors = checkGateSources(tasks, byKey, deps, childrenOf);
  if (sourceErrors.length > 0) return { ok: false, errors: sourceErrors.slice(0, MAX_REPORTED_ERRORS) };
  return { ok: true, tasks };
}

/**
 * A gate that takes its pull request `{from}` a task must wait for that task:
 * the source is an agent task among the work before the gate (its
 * dependencies, their dependencies, and the insides of groups among them), so
 * its report exists when the gate opens and a rework of it re-binds the gate.
 */
function checkGateSources(
  tasks: PlannedTask[],
  byKey: Map<string, number>,
  deps: Set<number>[],
  childrenOf: Map<number | null, number[]>,
): TreeError[] {
  const errors: TreeError[] = [];
  for (const task of tasks) {
    const sources = task.gate ? gateSources(task.gate.condition) : [];
    if (sources.length === 0) continue;
    const before = workBefore(task.index, tasks, deps, childrenOf);
    for (const key of sources) {
      const source = byKey.get(key);
      if (source === undefined) errors.push({ task: task.key, message: `the gate takes {from} unknown task "${key}"` });
      else if (tasks[source]!.kind !== 'agent') errors.push({ task: task.key, message: `the gate takes {from} "${key}", which is not an agent task` });
      else if (!before.has(source)) errors.push({ task: task.key, message: `the gate takes {from} "${key}" but does not wait for it (add it to depends_on)` });
    }
  }
  return errors;
}

function workBefore(index: number, tasks: PlannedTask[], deps: Set<number>[], childrenOf: Map<number | null, number[]>): Set<number> {
  const seen = new Set<number>();
  const stack = [...deps[index]!];
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (seen.has(i)) continue;
    seen.add(i);
    stack.push(...deps[i]!);
    if (tasks[i]!.kind === 'group') stack.push(...(childrenOf.get(i) ?? []));
  }
  return seen;
}

function countTasks(roots: TaskSpec[], cap: number): number {
  let count = 0;
  const stack = [...roots];
  while (stack.length > 0 && count <= cap) {
    const spec = stack.pop()!;
    count += 1;
    if (spec.children) stack.push(...spec.children);
  }
  return count;
}

function planTask(
  spec: TaskSpec,
  index: number,
  parent: PlannedTask | null,
  siblingsMode: ChildrenMode,
  position: number,
  depth: number,
  limits: TreeLimits,
  errors: TreeError[],
): PlannedTask {
  const fail = (message: string) => errors.push({ task: spec.key, message });
  if (!TASK_KEY_PATTERN.test(spec.key)) {
    fail(`task key "${spec.key}" must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  if (depth >= limits.maxDepth) fail(`task "${spec.key}" is nested deeper than ${limits.maxDepth} levels`);

  const hasChildren = (spec.children?.length ?? 0) > 0;
  const kind: TaskKind = spec.kind ?? (hasChildren ? 'group' : 'agent');
  if (kind === 'group' && !hasChildren) fail(`group task "${spec.key}" has no children`);
  if (kind !== 'group' && spec.children !== undefined) fail(`a ${kind} task cannot have children`);
  if (kind !== 'group' && spec.children_mode !== undefined) fail('children_mode is only for tasks with children');

  let gate: Gate | null = null;
  if (kind === 'wait_for_signal') {
    if (spec.gate === undefined) fail('a wait_for_signal task needs a gate');
    else {
      const normalized = normalizeGate(spec.gate);
      if (normalized.ok) gate = normalized.gate;
      else fail(normalized.error);
    }
  } else if (spec.gate !== undefined) {
    fail(`a gate belongs on a wait_for_signal task, not on a ${kind} task`);
  }
  if (spec.requires_approval && kind !== 'agent') fail('requires_approval is only for agent tasks');
  let metadata = spec.metadata ?? {};
  const pullRequest = spec.pull_request ?? metadata.pull_request;
  if (pullRequest !== undefined) {
    const parsed = PullRequestRequestSchema.safeParse(pullRequest);
    if (kind !== 'agent') fail('pull_request is only for agent tasks');
    else if (!parsed.success) fail(`pull_request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')}`);
    else metadata = { ...metadata, pull_request: parsed.data };
  }

  // A group's policy and agent are the defaults of everything below it.
  const sessionPolicy = spec.session_policy ?? parent?.sessionPolicy ?? 'auto';
  return {
    index,
    key: spec.key,
    parentIndex: parent?.index ?? null,
    position,
    depth,
    title: spec.title,
    instructions: spec.instructions ?? '',
    acceptance: spec.acceptance ?? null,
    kind,
    sessionPolicy,
    route: routeFor(sessionPolicy, siblingsMode),
    childrenMode: spec.children_mode ?? 'sequential',
    agent: spec.agent ?? parent?.agent ?? null,
    priority: spec.priority ?? 0,
    maxAttempts: spec.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
    timeoutS: spec.timeout_s ?? null,
    requiresApproval: spec.requires_approval ?? false,
    gate,
    metadata,
    dependsOn: [],
  };
}

/** `auto` isolates work that runs beside its siblings and keeps a sequence in one conversation. */
export function routeFor(policy: SessionPolicy, siblingsMode: ChildrenMode): TaskRoute {
  if (policy === 'pinned') return 'pinned';
  if (policy === 'spawn') return 'spawned';
  return siblingsMode === 'parallel' ? 'spawned' : 'pinned';
}

function groupChildren(tasks: PlannedTask[]): Map<number | null, number[]> {
  const childrenOf = new Map<number | null, number[]>();
  for (const task of tasks) {
    const siblings = childrenOf.get(task.parentIndex) ?? [];
    siblings.push(task.index);
    childrenOf.set(task.parentIndex, siblings);
  }
  return childrenOf;
}

function addSequentialEdges(siblings: number[], mode: ChildrenMode, deps: Set<number>[]): void {
  if (mode !== 'sequential') return;
  for (let i = 1; i < siblings.length; i++) deps[siblings[i]!]!.add(siblings[i - 1]!);
}

/**
 * A cycle over "waits for" edges: dependencies, plus a group waiting for each
 * of its children (a group finishes only when they do). The containment edges
 * catch a task that depends on its own ancestor, which would wait forever.
 * Returns the cycle as a closed path of indexes, or null.
 */
function findCycle(
  tasks: PlannedTask[],
  deps: Set<number>[],
  childrenOf: Map<number | null, number[]>,
): number[] | null {
  const successors = (i: number): number[] =>
    tasks[i]!.kind === 'group' ? [...deps[i]!, ...(childrenOf.get(i) ?? [])] : [...deps[i]!];
  const state = new Uint8Array(tasks.length); // 0 unseen, 1 on the current path, 2 done
  for (let start = 0; start < tasks.length; start++) {
    if (state[start] !== 0) continue;
    const path: number[] = [];
    const iterators: Iterator<number>[] = [];
    state[start] = 1;
    path.push(start);
    iterators.push(successors(start)[Symbol.iterator]());
    while (path.length > 0) {
      const next = iterators[iterators.length - 1]!.next();
      if (next.done) {
        state[path.pop()!] = 2;
        iterators.pop();
        continue;
      }
      const n = next.value;
      if (state[n] === 1) return [...path.slice(path.indexOf(n)), n];
      if (state[n] === 0) {
        state[n] = 1;
        path.push(n);
        iterators.push(successors(n)[Symbol.iterator]());
      }
    }
  }
  return null;
}
