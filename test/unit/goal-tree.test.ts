import { describe, expect, it } from 'vitest';
import { planGoalTree, type PlannedTask, type TaskSpec } from '../../server/domain/goal-tree.js';

const limits = { maxTasks: 100, maxDepth: 8 };

function plan(tasks: TaskSpec[], mode: 'sequential' | 'parallel' = 'sequential', l = limits) {
  const result = planGoalTree(tasks, mode, l);
  if (!result.ok) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
  const byKey = new Map(result.tasks.map((t) => [t.key, t]));
  const depsOf = (key: string) => byKey.get(key)!.dependsOn.map((i) => result.tasks[i]!.key).sort();
  return { tasks: result.tasks, byKey, depsOf };
}

function errorsOf(tasks: TaskSpec[], mode: 'sequential' | 'parallel' = 'sequential', l = limits) {
  const result = planGoalTree(tasks, mode, l);
  if (result.ok) throw new Error('expected the tree to be rejected');
  return result.errors;
}

const designGoal: TaskSpec[] = [
  { key: 'plan', title: 'Plan', instructions: '...', session_policy: 'pinned' },
  {
    key: 'build',
    title: 'Build',
    depends_on: ['plan'],
    children_mode: 'parallel',
    children: [
      { key: 'api', title: 'API' },
      { key: 'ui', title: 'UI' },
    ],
  },
  { key: 'ci', title: 'CI green', kind: 'wait_for_signal', depends_on: ['build'], gate: { type: 'gh_ci', repo: 'acme/web', pr: 42 } },
  { key: 'ok', title: 'Sign-off', kind: 'human_review', depends_on: ['ci'] },
];

describe('planGoalTree', () => {
  it('flattens the design goal in preorder with parents before children', () => {
    const { tasks } = plan(designGoal);
    expect(tasks.map((t) => t.key)).toEqual(['plan', 'build', 'api', 'ui', 'ci', 'ok']);
    const build = tasks[1]!;
    expect(build.kind).toBe('group');
    expect(tasks[2]!.parentIndex).toBe(build.index);
    expect(tasks[2]!.depth).toBe(1);
    expect(tasks[3]!.position).toBe(1);
  });

  it('turns depends_on, sequential order and group dependencies into edges', () => {
    const { depsOf } = plan(designGoal);
    expect(depsOf('plan')).toEqual([]);
    expect(depsOf('build')).toEqual(['plan']);
    // Parallel children inherit the group's dependencies and not each other.
    expect(depsOf('api')).toEqual(['plan']);
    expect(depsOf('ui')).toEqual(['plan']);
    expect(depsOf('ci')).toEqual(['build']);
    expect(depsOf('ok')).toEqual(['ci']);
  });

  it('chains sequential siblings and lets only the first child of a sequential group inherit', () => {
    const { depsOf } = plan([
      { key: 'a', title: 'A' },
      { key: 'g', title: 'G', children: [{ key: 'g1', title: 'G1' }, { key: 'g2', title: 'G2' }] },
    ]);
    expect(depsOf('g')).toEqual(['a']);
    expect(depsOf('g1')).toEqual(['a']);
    expect(depsOf('g2')).toEqual(['g1']);
  });

  it('runs top-level tasks in parallel when the goal says so', () => {
    const { depsOf } = plan([{ key: 'a', title: 'A' }, { key: 'b', title: 'B' }], 'parallel');
    expect(depsOf('b')).toEqual([]);
  });

  it('passes dependencies down through nested groups', () => {
    const { depsOf } = plan([
      { key: 'first', title: 'F' },
      {
        key: 'outer',
        title: 'O',
        children_mode: 'parallel',
        children: [{ key: 'inner', title: 'I', children: [{ key: 'leaf', title: 'L' }] }],
      },
    ]);
    expect(depsOf('inner')).toEqual(['first']);
    expect(depsOf('leaf')).toEqual(['first']);
  });

  it('deduplicates an explicit dependency that the order already implies', () => {
    const { depsOf } = plan([{ key: 'a', title: 'A' }, { key: 'b', title: 'B', depends_on: ['a', 'a'] }]);
    expect(depsOf('b')).toEqual(['a']);
  });

  it('inherits session policy and agent from a group, with defaults otherwise', () => {
    const { byKey } = plan([
      { key: 'g', title: 'G', session_policy: 'spawn', agent: 'codex', children: [{ key: 'c', title: 'C' }] },
      { key: 'x', title: 'X' },
    ]);
    expect(byKey.get('c')!.sessionPolicy).toBe('spawn');
    expect(byKey.get('c')!.agent).toBe('codex');
    expect(byKey.get('x')!.sessionPolicy).toBe('auto');
    expect(byKey.get('x')!.agent).toBeNull();
    expect(byKey.get('x')!.maxAttempts).toBe(2);
  });

  it('normalizes gates', () => {
    const { byKey } = plan([
      { key: 'ci', title: 'CI', kind: 'wait_for_signal', gate: { type: 'gh_ci', pr_url: 'https://github.com/Acme/Web/pull/7' } },
    ]);
    const gate = byKey.get('ci')!.gate!;
    expect(gate.condition).toEqual({ type: 'gh_ci', attributes: { repo: 'acme/web', pr: 7 } });
    expect(gate.rework).toBe(2);
    expect(gate.onTimeout).toBe('fail');
  });
});

describe('planGoalTree rejects', () => {
  it('unknown depends_on keys, naming the task and the key', () => {
    const errors = errorsOf([{ key: 'a', title: 'A', depends_on: ['nope'] }]);
    expect(errors).toEqual([{ task: 'a', message: 'depends_on names unknown task "nope"' }]);
  });

  it('duplicate keys', () => {
    const errors = errorsOf([{ key: 'a', title: 'A' }, { key: 'g', title: 'G', children: [{ key: 'a', title: 'again' }] }]);
    expect(errors[0]).toEqual({ task: 'a', message: 'duplicate task key "a"' });
  });

  it('a cycle, naming it', () => {
    const errors = errorsOf(
      [
        { key: 'a', title: 'A', depends_on: ['c'] },
        { key: 'b', title: 'B', depends_on: ['a'] },
        { key: 'c', title: 'C', depends_on: ['b'] },
      ],
      'parallel',
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/^dependency cycle: (a -> c -> b -> a|b -> a -> c -> b|c -> b -> a -> c)$/);
  });

  it('a self-dependency', () => {
    expect(errorsOf([{ key: 'a', title: 'A', depends_on: ['a'] }])[0]!.message).toBe('task "a" depends on itself');
  });

  it('a task that depends on its own group (it would wait forever)', () => {
    const errors = errorsOf([{ key: 'g', title: 'G', children: [{ key: 'c', title: 'C', depends_on: ['g'] }] }]);
    expect(errors[0]!.message).toMatch(/^dependency cycle: .*g.*c|^dependency cycle: .*c.*g/);
  });

  it('a group that depends on one of its own children', () => {
    const errors = errorsOf([
      { key: 'g', title: 'G', depends_on: ['c2'], children_mode: 'parallel', children: [{ key: 'c1', title: '1' }, { key: 'c2', title: '2' }] },
    ]);
    expect(errors[0]!.message).toMatch(/^dependency cycle/);
  });

  it('a gate on a task that is not a gate task, and a gate task without a gate', () => {
    expect(errorsOf([{ key: 'a', title: 'A', gate: { type: 'gh_ci', repo: 'a/b', pr: 1 } }])[0]).toEqual({
      task: 'a',
      message: 'a gate belongs on a wait_for_signal task, not on a agent task',
    });
    expect(errorsOf([{ key: 'w', title: 'W', kind: 'wait_for_signal' }])[0]).toEqual({
      task: 'w',
      message: 'a wait_for_signal task needs a gate',
    });
  });

  it('unknown gate shapes', () => {
    const bad = (gate: unknown) => errorsOf([{ key: 'w', title: 'W', kind: 'wait_for_signal', gate }])[0]!.message;
    expect(bad({ type: 'GH CI', repo: 'a/b' })).toMatch(/type must be a lowercase name/);
    expect(bad({ type: 'gh_ci' })).toMatch(/names no attribute/);
    expect(bad({ all: [] })).toMatch(/non-empty array/);
    expect(bad({ any: [{ type: 'gh_ci', repo: 'a/b' }], type: 'x' })).toMatch(/cannot be mixed/);
    expect(bad({ type: 'gh_ci', pr_url: 'not a url' })).toMatch(/pr_url/);
    expect(bad({ type: 'gh_ci', repo: 'a/b', nested: { x: 1 } })).toMatch(/string or a number/);
    expect(bad({ type: 'gh_ci', repo: 'a/b', on_timeout: 'maybe' })).toMatch(/on_timeout/);
  });

  it('groups without children and children under a non-group kind', () => {
    expect(errorsOf([{ key: 'g', title: 'G', kind: 'group' }])[0]!.message).toBe('group task "g" has no children');
    expect(errorsOf([{ key: 'a', title: 'A', kind: 'agent', children: [{ key: 'b', title: 'B' }] }])[0]!.message).toBe(
      'a agent task cannot have children',
    );
  });

  it('more tasks than the limit', () => {
    const tasks = Array.from({ length: 6 }, (_, i) => ({ key: `t${i}`, title: 'T' }));
    expect(errorsOf(tasks, 'parallel', { maxTasks: 5, maxDepth: 8 })[0]!.message).toBe('a goal may have at most 5 tasks');
  });

  it('trees deeper than the limit', () => {
    let spec: TaskSpec = { key: 'leaf', title: 'L' };
    for (let i = 0; i < 4; i++) spec = { key: `g${i}`, title: 'G', children: [spec] };
    expect(() => plan([spec], 'sequential', { maxTasks: 100, maxDepth: 5 })).not.toThrow();
    const errors = errorsOf([spec], 'sequential', { maxTasks: 100, maxDepth: 4 });
    expect(errors[0]).toEqual({ task: 'leaf', message: 'task "leaf" is nested deeper than 4 levels' });
  });

  it('malformed keys', () => {
    expect(errorsOf([{ key: 'has space', title: 'A' }])[0]!.message).toMatch(/must be 1-100 letters/);
  });
});

describe('planGoalTree at scale', () => {
  it('plans 10,000 chained tasks without recursion limits', () => {
    const tasks = Array.from({ length: 10_000 }, (_, i) => ({ key: `t${i}`, title: 'T' }));
    const result = planGoalTree(tasks, 'sequential', { maxTasks: 10_000, maxDepth: 8 });
    expect(result.ok).toBe(true);
    const planned = (result as { tasks: PlannedTask[] }).tasks;
    expect(planned[9_999]!.dependsOn).toEqual([9_998]);
  });
});

describe('routing', () => {
  it('resolves auto to spawned beside parallel siblings and pinned in a sequence', () => {
    const { byKey } = plan(designGoal);
    expect(byKey.get('plan')!.route).toBe('pinned');
    expect(byKey.get('api')!.route).toBe('spawned');
    expect(byKey.get('ui')!.route).toBe('spawned');
    const explicit = plan([{ key: 'p', title: 'P', children_mode: 'parallel', children: [{ key: 'c', title: 'C', session_policy: 'pinned' }] }]);
    expect(explicit.byKey.get('c')!.route).toBe('pinned');
    const spawn = plan([{ key: 's', title: 'S', session_policy: 'spawn' }]);
    expect(spawn.byKey.get('s')!.route).toBe('spawned');
  });
});
