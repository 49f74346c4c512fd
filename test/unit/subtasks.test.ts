import { describe, expect, it } from 'vitest';
import { parsePullRequest } from '../../server/domain/pull-request.js';
import { planSubtasks, type ExistingTask, type SubtaskParent } from '../../server/domain/subtasks.js';

const limits = { maxTasks: 100, maxDepth: 8 };
const parent: SubtaskParent = { id: 'T', depth: 1, requiresApproval: false, sessionPolicy: 'spawn', agent: 'codex', childrenMode: 'sequential' };

/** group G { T, sibling }, then `after` depending on G; `done` elsewhere; `waits` depends on T. */
const tasks: ExistingTask[] = [
  { id: 'G', key: 'g', parentId: null, kind: 'group' },
  { id: 'T', key: 't', parentId: 'G', kind: 'agent' },
  { id: 'S', key: 'sibling', parentId: 'G', kind: 'agent' },
  { id: 'A', key: 'after', parentId: null, kind: 'agent' },
  { id: 'D', key: 'done', parentId: null, kind: 'agent' },
  { id: 'W', key: 'waits', parentId: null, kind: 'agent' },
];
const edges = [
  { taskId: 'A', dependsOnId: 'G' },
  { taskId: 'W', dependsOnId: 'T' },
];
const goal = { tasks, edges };

describe('planSubtasks', () => {
  it('places the new tasks one level below the task, with its policy and agent as their defaults', () => {
    const plan = planSubtasks([{ key: 'a', title: 'A' }, { key: 'b', title: 'B', agent: 'claude' }], undefined, parent, goal, limits);
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.mode).toBe('sequential');
    expect(plan.tasks.map((t) => [t.key, t.depth, t.parentIndex, t.sessionPolicy, t.agent, t.dependsOn])).toEqual([
      ['a', 2, null, 'spawn', 'codex', []],
      ['b', 2, null, 'spawn', 'claude', [0]],
    ]);
  });

  it('lets new tasks depend on tasks of the goal that do not wait for this one', () => {
    const plan = planSubtasks([{ key: 'a', title: 'A', depends_on: ['done', 'sibling'] }], undefined, parent, goal, limits);
    expect(plan.ok && plan.tasks[0]!.dependsOnExisting).toEqual(['D', 'S']);
  });

  it('refuses a dependency that would wait forever: the task, its groups, their dependents', () => {
    for (const key of ['t', 'g', 'after', 'waits']) {
      const plan = planSubtasks([{ key: 'a', title: 'A', depends_on: [key] }], undefined, parent, goal, limits);
      expect(plan.ok, key).toBe(false);
    }
  });

  it('appends to earlier subtasks in sequence, and keeps their mode', () => {
    const withChild = { tasks: [...tasks, { id: 'C', key: 'c', parentId: 'T', kind: 'agent' as const }], edges };
    const plan = planSubtasks([{ key: 'next', title: 'Next' }], undefined, parent, withChild, limits);
    expect(plan.ok && plan.tasks[0]!.dependsOnExisting).toEqual(['C']);
    expect(planSubtasks([{ key: 'x', title: 'X' }], 'parallel', parent, withChild, limits)).toMatchObject({ ok: false });
  });

  it("carries a group's outside dependencies to its entry children", () => {
    const plan = planSubtasks(
      [{ key: 'grp', title: 'G', depends_on: ['done'], children: [{ key: 'x', title: 'X' }, { key: 'y', title: 'Y' }] }],
      undefined,
      parent,
      goal,
      limits,
    );
    expect(plan.ok && plan.tasks.map((t) => [t.key, t.dependsOnExisting])).toEqual([
      ['grp', ['D']],
      ['x', ['D']],
      ['y', []],
    ]);
  });

  it('refuses keys in use, the goal task limit, depth past the limit, and a task that needs approval', () => {
    expect(planSubtasks([{ key: 'done', title: 'X' }], undefined, parent, goal, limits)).toMatchObject({ ok: false });
    expect(planSubtasks([{ key: 'a', title: 'A' }, { key: 'b', title: 'B' }], undefined, parent, goal, { maxTasks: 7, maxDepth: 8 })).toMatchObject({
      ok: false,
      errors: [{ message: 'a goal may have at most 7 tasks; this one has 6' }],
    });
    expect(planSubtasks([{ key: 'a', title: 'A' }], undefined, parent, goal, { maxTasks: 100, maxDepth: 2 })).toMatchObject({ ok: false });
    expect(planSubtasks([{ key: 'a', title: 'A', children: [{ key: 'b', title: 'B' }] }], undefined, parent, goal, { maxTasks: 100, maxDepth: 3 })).toMatchObject({
      ok: false,
      errors: [{ task: 'b', message: 'task "b" would be nested deeper than 3 levels' }],
    });
    expect(planSubtasks([{ key: 'a', title: 'A' }], undefined, { ...parent, requiresApproval: true }, goal, limits)).toMatchObject({ ok: false });
  });
});

describe('parsePullRequest', () => {
  it('reads the forge, repository and number of a pull request page', () => {
    expect(parsePullRequest('https://git.example.com/acme/web/pull/7/', 'ABC1234')).toEqual({
      ok: true,
      pullRequest: { url: 'https://git.example.com/acme/web/pull/7', head_sha: 'abc1234', repo: 'acme/web', number: 7 },
    });
  });

  it('refuses anything else', () => {
    for (const url of ['http://github.com/a/b/pull/1', 'https://github.com/a/b/pulls', 'https://u:p@github.com/a/b/pull/1', 'https://github.com/a/b/pull/1?x=1', '']) {
      expect(parsePullRequest(url).ok, url).toBe(false);
    }
    expect(parsePullRequest('https://github.com/a/b/pull/1', 'not-hex').ok).toBe(false);
  });
});
