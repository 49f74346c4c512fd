import { describe, expect, it } from 'vitest';
import { checkGoalText } from '../../web/goal-check.js';
import { buildTaskTree, describeGate } from '../../web/task-tree.js';
import type { Task } from '../../web/types.js';

/** The dashboard's own rules: reading a pasted goal, and drawing a flat task list as its tree. */

describe('checking a pasted goal', () => {
  const yaml = (tasks: string) => `title: T\nrepo: /srv/repo\ntasks:\n${tasks}`;

  it('takes YAML and JSON alike', () => {
    expect(checkGoalText(yaml('  - { key: a, title: A }\n'))).toEqual({ request: { title: 'T', repo: '/srv/repo', tasks: [{ key: 'a', title: 'A' }] }, problems: [] });
    expect(checkGoalText('{"title":"T","repo":"/srv/repo","tasks":[{"key":"a","title":"A"}]}').problems).toEqual([]);
  });

  it('says where the syntax is wrong', () => {
    expect(checkGoalText('title: [open').problems[0]).toMatch(/^YAML: /);
    expect(checkGoalText('{"title": ').problems[0]).toMatch(/^JSON: /);
    expect(checkGoalText('   ').problems).toEqual(['paste a goal as YAML or JSON']);
  });

  it('checks the shape: required fields, unknown fields, enums', () => {
    const { problems } = checkGoalText('repo: relative/path\ncolour: blue\ntasks:\n  - { key: a, kind: robot }\n');
    expect(problems).toEqual(
      expect.arrayContaining([
        'colour: not a field of a goal',
        'title: required, a string',
        'repo: must be an absolute path or a git URL (https, ssh, git, file)',
        'tasks.0.title: required, a string',
        'tasks.0.kind: one of agent, wait_for_signal, human_review, group',
      ]),
    );
  });

  it("applies the server's tree rules: unknown dependencies, duplicate keys, gates on the wrong task", () => {
    const unknown = checkGoalText(yaml('  - { key: a, title: A, depends_on: [nowhere] }\n'));
    expect(unknown.problems.join('\n')).toContain('nowhere');
    const duplicate = checkGoalText(yaml('  - { key: a, title: A }\n  - { key: a, title: B }\n'));
    expect(duplicate.problems.join('\n')).toMatch(/duplicate|more than once|already/i);
    const gate = checkGoalText(yaml('  - { key: a, title: A, gate: { type: gh_ci, repo: o/r, pr: 1 } }\n'));
    expect(gate.problems.length).toBeGreaterThan(0);
  });
});

function task(fields: Partial<Task> & Pick<Task, 'id' | 'key'>): Task {
  return {
    goal_id: 'g', parent_id: null, position: 0, priority: 0, depth: 0, title: fields.key, instructions: '', acceptance: null, kind: 'agent',
    session_policy: 'auto', route: 'spawned', children_mode: 'sequential', agent: null, status: 'pending', attempt: 0, max_attempts: 2,
    not_before: null, timeout_s: null, requires_approval: false, gate: null, gate_bound: null, result: null, error: null, cost_usd: 0, input_tokens: 0,
    output_tokens: 0, depends_on: [], session_id: null, metadata: {}, created_at: '', updated_at: '', started_at: null, finished_at: null, ...fields,
  };
}

describe('the task tree', () => {
  it('nests children under their parent in position order and names only the dependencies the order does not show', () => {
    const tasks = [
      task({ id: 'ok', key: 'ok', position: 2, depends_on: ['build', 'plan'] }),
      task({ id: 'ui', key: 'ui', parent_id: 'build', position: 1, depends_on: ['plan'] }),
      task({ id: 'build', key: 'build', kind: 'group', children_mode: 'parallel', position: 1, depends_on: ['plan'] }),
      task({ id: 'api', key: 'api', parent_id: 'build', position: 0, depends_on: ['plan'] }),
      task({ id: 'plan', key: 'plan', position: 0 }),
    ];
    const tree = buildTaskTree(tasks);
    expect(tree.map((n) => n.task.key)).toEqual(['plan', 'build', 'ok']);
    expect(tree[1]!.children.map((n) => n.task.key)).toEqual(['api', 'ui']);
    // build follows plan in the sequence; its children inherit plan; ok follows build but also names plan.
    expect(tree[1]!.extraDeps).toEqual([]);
    expect(tree[1]!.children[0]!.extraDeps).toEqual([]);
    expect(tree[2]!.extraDeps).toEqual(['plan']);
  });

  it('says what a gate waits for', () => {
    expect(describeGate({ type: 'gh_ci', repo: 'acme/web', pr: 42 })).toBe('gh_ci acme/web#42');
    expect(describeGate({ type: 'gh_ci', pr: { from: 'open-pr' } })).toBe('gh_ci PR from open-pr');
    expect(describeGate({ all: [{ type: 'gh_ci', repo: 'a/b', pr: 1 }, { type: 'gh_review', repo: 'a/b', pr: 1 }], timeout_s: 60 })).toBe(
      'all of (gh_ci a/b#1; gh_review a/b#1)',
    );
    expect(describeGate({ type: 'deploy', env: 'prod', timeout_s: 600, on_timeout: 'pass' })).toBe('deploy env=prod (times out after 600s: pass)');
  });
});
