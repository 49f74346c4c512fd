import type { Goal, Schemas, Task } from '../client/arbor-client.js';
import { formatCost } from './table.js';

/**
 * A goal's tasks as a tree in the terminal: one line per task, nested under
 * its group, with what a person needs to read it — state, what it waits for,
 * what it runs after, attempts and errors. Pure: the same tasks make the
 * same lines, for `goal show`, `watch` and the tests.
 */

const MARKS: Record<Task['status'], string> = {
  pending: '○',
  running: '●',
  waiting: '◷',
  review: '?',
  succeeded: '✓',
  failed: '✗',
  blocked: '!',
  skipped: '-',
  cancelled: '⊘',
};

const COLOURS: Partial<Record<Task['status'] | Goal['status'], number>> = {
  running: 36,
  waiting: 33,
  review: 33,
  succeeded: 32,
  failed: 31,
  blocked: 31,
  paused: 33,
  cancelled: 90,
  skipped: 90,
};

export interface TreeOptions {
  colour: boolean;
  /** The goal's children_mode: how its top-level tasks run. */
  goalMode: Goal['children_mode'];
}

export function colourStatus(status: Task['status'] | Goal['status'], text: string, colour: boolean): string {
  const code = COLOURS[status];
  return colour && code ? `\x1b[${code}m${text}\x1b[0m` : text;
}

/** `3/6 succeeded` over the tasks that do work (groups only gather theirs). */
export function progressOf(tasks: Task[]): { done: number; total: number } {
  const work = tasks.filter((t) => t.kind !== 'group');
  return { done: work.filter((t) => t.status === 'succeeded' || t.status === 'skipped').length, total: work.length };
}

export function renderGoalHeader(goal: Goal, tasks: Task[], options: Pick<TreeOptions, 'colour'>): string {
  const { done, total } = progressOf(tasks);
  const cost = formatCost(goal.cost_usd);
  return [goal.title, colourStatus(goal.status, goal.status, options.colour), `${done}/${total} done`, ...(cost === '-' ? [] : [cost]), goal.id].join('  ');
}

export function renderGoalTree(tasks: Task[], options: TreeOptions): string[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const children = new Map<string | null, Task[]>();
  for (const task of tasks) {
    const parent = task.parent_id !== null && byId.has(task.parent_id) ? task.parent_id : null;
    children.set(parent, [...(children.get(parent) ?? []), task]);
  }
  for (const list of children.values()) list.sort((a, b) => a.position - b.position);

  const rows: { prefix: string; task: Task }[] = [];
  const walk = (parent: string | null, indent: string) => {
    const list = children.get(parent) ?? [];
    list.forEach((task, i) => {
      const last = i === list.length - 1;
      rows.push({ prefix: `${indent}${last ? '└─ ' : '├─ '}`, task });
      walk(task.id, `${indent}${last ? '   ' : '│  '}`);
    });
  };
  walk(null, '');

  const keyWidth = Math.max(0, ...rows.map((r) => [...r.prefix].length + 2 + r.task.key.length));
  const statusWidth = Math.max(0, ...rows.map((r) => r.task.status.length));
  return rows.map(({ prefix, task }) => {
    const head = `${prefix}${MARKS[task.status]} ${task.key}`;
    const status = colourStatus(task.status, task.status.padEnd(statusWidth), options.colour);
    const notes = describeTask(task, byId, options.goalMode);
    return `${head.padEnd(keyWidth)}  ${status}  ${task.title}${notes.length > 0 ? `  (${notes.join('; ')})` : ''}`.trimEnd();
  });
}

/** What a task's line says besides key, status and title. */
export function describeTask(task: Task, byId: Map<string, Task>, goalMode: Goal['children_mode']): string[] {
  const notes: string[] = [];
  if (task.kind === 'group') notes.push(task.children_mode);
  const after = explicitDependencies(task, byId, goalMode).map((id) => byId.get(id)?.key ?? id);
  if (after.length > 0) notes.push(`after ${after.join(', ')}`);
  if (task.kind === 'wait_for_signal') {
    const gate = task.gate_bound ?? task.gate;
    if (gate) notes.push(`waits for ${describeGate(gate)}`);
  }
  if (task.kind === 'human_review') notes.push('a person reviews');
  if (task.attempt > 1) notes.push(`attempt ${task.attempt}/${task.max_attempts}`);
  if (task.cost_usd > 0) notes.push(formatCost(task.cost_usd));
  if (task.error && (task.status === 'failed' || task.status === 'blocked' || task.status === 'pending')) {
    notes.push(firstLine(task.error, 120));
  }
  return notes;
}

/**
 * The dependencies the tree's layout does not already show: not the sibling
 * just before it when its group (or the goal, at the top) runs in sequence,
 * and not those it inherits from an enclosing group.
 */
export function explicitDependencies(task: Task, byId: Map<string, Task>, goalMode: Goal['children_mode']): string[] {
  const parent = task.parent_id === null ? undefined : byId.get(task.parent_id);
  const inherited = new Set<string>();
  for (let up = parent; up; up = up.parent_id === null ? undefined : byId.get(up.parent_id)) {
    for (const id of up.depends_on) inherited.add(id);
  }
  const mode = parent ? parent.children_mode : goalMode;
  const previous =
    mode === 'sequential'
      ? [...byId.values()]
          .filter((t) => t.parent_id === task.parent_id && t.position < task.position)
          .sort((a, b) => b.position - a.position)[0]
      : undefined;
  return task.depends_on.filter((id) => !inherited.has(id) && id !== previous?.id);
}

type Gate = Schemas['Gate'] | Schemas['GateCondition'];

/** `gh_ci acme/web#42`, `gh_ci (pr from implement)`, `all(gh_ci acme/web#42, gh_review acme/web#42)`. */
export function describeGate(gate: Gate): string {
  if ('all' in gate && Array.isArray(gate.all)) return `all(${(gate.all as Gate[]).map(describeGate).join(', ')})`;
  if ('any' in gate && Array.isArray(gate.any)) return `any(${(gate.any as Gate[]).map(describeGate).join(', ')})`;
  const leaf = gate as Schemas['GateLeaf'];
  const parts: string[] = [String(leaf.type)];
  const from = (value: unknown) => (typeof value === 'object' && value !== null && 'from' in value ? String(value.from) : null);
  const prFrom = from(leaf.pr) ?? from(leaf.repo);
  if (prFrom) parts.push(`pr from ${prFrom}`);
  else if (leaf.repo !== undefined && leaf.pr !== undefined) parts.push(`${String(leaf.repo)}#${String(leaf.pr)}`);
  else if (leaf.repo !== undefined) parts.push(String(leaf.repo));
  if (leaf.sha !== undefined) parts.push(from(leaf.sha) ? `sha from ${from(leaf.sha)}` : String(leaf.sha).slice(0, 12));
  for (const [name, value] of Object.entries(leaf)) {
    if (['type', 'repo', 'pr', 'sha', 'checks', 'on_timeout', 'rework', 'timeout_s', 'task_id'].includes(name)) continue;
    parts.push(`${name}=${String(value)}`);
  }
  return parts.join(' ');
}

function firstLine(text: string, max: number): string {
  const line = text.split('\n')[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
