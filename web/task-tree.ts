import type { Task } from './types.js';

/** A goal's flat task list as the tree it is: children under their parent, in position order. */
export interface TaskNode {
  task: Task;
  children: TaskNode[];
  /** Keys of the tasks this one waits for besides the one just before it in a sequence (drawn by the order itself). */
  extraDeps: string[];
}

export function buildTaskTree(tasks: Task[]): TaskNode[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const children = new Map<string | null, Task[]>();
  for (const task of tasks) {
    const parent = task.parent_id && byId.has(task.parent_id) ? task.parent_id : null;
    const list = children.get(parent) ?? [];
    list.push(task);
    children.set(parent, list);
  }
  const build = (parentId: string | null): TaskNode[] => {
    const siblings = (children.get(parentId) ?? []).sort((a, b) => a.position - b.position);
    return siblings.map((task, index) => {
      const previous = index > 0 ? siblings[index - 1]!.id : null;
      const parent = parentId ? byId.get(parentId) : undefined;
      const sequential = parent ? parent.children_mode === 'sequential' : true;
      // What the parent waits for, its children wait for too: said once, on the parent.
      const inherited = new Set(parent?.depends_on ?? []);
      const extraDeps = task.depends_on
        .filter((id) => !(sequential && id === previous) && id !== parentId && !inherited.has(id))
        .map((id) => byId.get(id)?.key ?? id.slice(0, 8));
      return { task, children: build(task.id), extraDeps };
    });
  };
  return build(null);
}

/** A gate in words: `gh_ci acme/web#42`, `all of (…)`, with its timeout. */
export function describeGate(gate: unknown): string {
  if (!gate || typeof gate !== 'object') return 'a signal';
  const g = gate as Record<string, unknown>;
  if (Array.isArray(g.all)) return `all of (${g.all.map(describeGate).join('; ')})`;
  if (Array.isArray(g.any)) return `any of (${g.any.map(describeGate).join('; ')})`;
  const parts: string[] = [typeof g.type === 'string' ? g.type : 'signal'];
  const repo = typeof g.repo === 'string' ? g.repo : null;
  const pr = describeValue(g.pr);
  if (repo && pr) parts.push(`${repo}#${pr}`);
  else if (repo) parts.push(repo);
  else if (pr) parts.push(`PR ${pr}`);
  if (typeof g.pr_url === 'string') parts.push(g.pr_url);
  if (g.sha !== undefined) parts.push(`sha ${describeValue(g.sha)}`);
  for (const [name, value] of Object.entries(g)) {
    if (['type', 'repo', 'pr', 'pr_url', 'sha', 'timeout_s', 'on_timeout', 'rework', 'all', 'any'].includes(name)) continue;
    parts.push(`${name}=${describeValue(value)}`);
  }
  if (typeof g.timeout_s === 'number') parts.push(`(times out after ${g.timeout_s}s: ${typeof g.on_timeout === 'string' ? g.on_timeout : 'fail'})`);
  return parts.join(' ');
}

function describeValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object' && typeof (value as { from?: unknown }).from === 'string') return `from ${(value as { from: string }).from}`;
  return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/** The statuses a person can act on, and what they can do there. */
export function actionsFor(task: Task): { retry: boolean; review: boolean; resolveGate: boolean } {
  return {
    retry: task.status === 'failed' || task.status === 'blocked',
    review: task.status === 'review',
    resolveGate: task.status === 'waiting' && task.kind === 'wait_for_signal',
  };
}
