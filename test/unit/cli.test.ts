import { describe, expect, it } from 'vitest';
import type { Goal, Session, Task } from '../../client/arbor-client.js';
import { readServerSentEvents } from '../../client/event-stream.js';
import { UsageError, parseCommandLine } from '../../cli/command-line.js';
import { describeGate, renderGoalHeader, renderGoalTree } from '../../cli/goal-tree.js';
import { signalBody } from '../../cli/signal-command.js';
import { formatAge, formatCost, renderTable } from '../../cli/table.js';
import { describeChanges } from '../../cli/watch-command.js';

/** The pure parts of the `arbor` CLI: its command line, tables, trees, and the SSE reader under `watch` and `logs -f`. */

describe('parseCommandLine', () => {
  const run = (argv: string[]) => {
    const line = parseCommandLine(argv);
    if (line.kind !== 'run') throw new Error(`not a command: ${line.kind}`);
    return { name: line.command.name, args: line.args, values: line.values };
  };

  it('takes one- and two-word commands with their arguments and options', () => {
    expect(run(['goal', 'create', '-f', 'goal.yaml', '--json'])).toEqual({ name: 'goal create', args: {}, values: { file: 'goal.yaml', json: true } });
    expect(run(['goal', 'create', '-f', '-'])).toMatchObject({ values: { file: '-' } });
    expect(run(['goals', '--status', 'running'])).toMatchObject({ name: 'goals', values: { status: 'running' } });
    expect(run(['goal', 'show', 'g1'])).toMatchObject({ name: 'goal show', args: { goal: 'g1' } });
    expect(run(['logs', 't1', '-f'])).toMatchObject({ name: 'logs', args: { 'task-or-session': 't1' }, values: { follow: true } });
    expect(run(['reject', 't1', '--feedback', 'use a map'])).toMatchObject({ args: { task: 't1' }, values: { feedback: 'use a map' } });
    expect(run(['signal', '--type', 'gh_ci', '--attr', 'a=1', '--attr', 'b=2', '--status', 'pass'])).toMatchObject({
      values: { type: 'gh_ci', attr: ['a=1', 'b=2'], status: 'pass' },
    });
  });

  it('answers help and version without a command', () => {
    expect(parseCommandLine([])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['help', 'reject'])).toMatchObject({ kind: 'help', command: { name: 'reject' } });
    expect(parseCommandLine(['watch', '--help'])).toMatchObject({ kind: 'help', command: { name: 'watch' } });
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' });
  });

  it('refuses what is not a command line it knows, saying how to call it', () => {
    const refusal = (argv: string[]) => {
      try {
        parseCommandLine(argv);
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      throw new Error(`accepted: ${argv.join(' ')}`);
    };
    expect(refusal(['deploy'])).toBe('unknown command: deploy');
    expect(refusal(['goal', 'delete', 'x'])).toBe('unknown command: goal delete');
    expect(refusal(['watch'])).toMatch(/^missing <goal>\nusage: arbor watch <goal>/);
    expect(refusal(['watch', 'a', 'b'])).toMatch(/^unexpected argument: b/);
    expect(refusal(['reject', 't1'])).toMatch(/^--feedback is required\nusage: arbor reject <task> --feedback <value>/);
    expect(refusal(['goals', '--colour'])).toMatch(/Unknown option '--colour'/);
    expect(refusal(['goal', 'create'])).toMatch(/^--file is required/);
  });
});

describe('signalBody', () => {
  it('builds the resolve body from the options', () => {
    expect(signalBody({ type: 'gh_ci', 'pr-url': 'https://github.com/a/b/pull/3' }, 'pass', 'green')).toEqual({
      type: 'gh_ci',
      status: 'pass',
      pr_url: 'https://github.com/a/b/pull/3',
      summary: 'green',
    });
    expect(signalBody({ type: 'deploy', repo: 'a/b', pr: '4', sha: 'abc1234', attr: ['env=prod'], 'idempotency-key': 'k1' }, 'fail', undefined)).toEqual({
      type: 'deploy',
      status: 'fail',
      repo: 'a/b',
      pr: 4,
      sha: 'abc1234',
      env: 'prod',
      idempotency_key: 'k1',
    });
  });

  it('refuses a signal without a type, a pr that is no number and an attribute without a value', () => {
    expect(() => signalBody({}, 'pass', undefined)).toThrow(/--type is required/);
    expect(() => signalBody({ type: 'gh_ci', pr: 'seven' }, 'pass', undefined)).toThrow(/--pr must be/);
    expect(() => signalBody({ type: 'x', attr: ['novalue'] }, 'pass', undefined)).toThrow(/name=value/);
  });
});

describe('tables', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(renderTable(['ID', 'STATUS', 'TITLE'], [['a1', 'running', 'Add dark mode'], ['b22', 'failed', 'x']])).toEqual([
      'ID   STATUS   TITLE',
      'a1   running  Add dark mode',
      'b22  failed   x',
    ]);
  });

  it('says ages and costs briefly', () => {
    const now = new Date('2026-01-02T00:00:00Z');
    expect(formatAge('2026-01-01T23:59:15Z', now)).toBe('45s');
    expect(formatAge('2026-01-01T23:48:00Z', now)).toBe('12m');
    expect(formatAge('2026-01-01T21:00:00Z', now)).toBe('3h');
    expect(formatAge('2025-12-28T00:00:00Z', now)).toBe('5d');
    expect([formatCost(0), formatCost(0.004), formatCost(1.5)]).toEqual(['-', '<$0.01', '$1.50']);
  });
});

let nextId = 0;
function task(key: string, fields: Partial<Task> = {}): Task {
  nextId += 1;
  return {
    id: `id-${key}`,
    goal_id: 'g',
    parent_id: null,
    key,
    position: nextId,
    depth: 0,
    title: key.toUpperCase(),
    instructions: '',
    acceptance: null,
    kind: 'agent',
    session_policy: 'auto',
    route: 'spawned',
    children_mode: 'sequential',
    agent: null,
    status: 'pending',
    priority: 0,
    attempt: 0,
    max_attempts: 3,
    not_before: null,
    timeout_s: null,
    requires_approval: false,
    gate: null,
    gate_bound: null,
    result: null,
    error: null,
    cost_usd: 0,
    input_tokens: 0,
    output_tokens: 0,
    depends_on: [],
    session_id: null,
    metadata: {},
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    started_at: null,
    finished_at: null,
    ...fields,
  };
}

/** The design document's goal, as the API returns it after plan and api succeeded. */
function designTasks(): Task[] {
  return [
    task('plan', { position: 0, status: 'succeeded' }),
    task('build', { position: 1, kind: 'group', children_mode: 'parallel', status: 'running', depends_on: ['id-plan'] }),
    task('api', { position: 0, parent_id: 'id-build', status: 'succeeded', depends_on: ['id-plan'], cost_usd: 0.25 }),
    task('ui', { position: 1, parent_id: 'id-build', status: 'failed', attempt: 3, error: 'exit code 1\nmore', depends_on: ['id-plan'] }),
    task('ci', { position: 2, kind: 'wait_for_signal', depends_on: ['id-build'], gate: { type: 'gh_ci', repo: 'acme/web', pr: 42, on_timeout: 'fail', rework: 2 } }),
    task('ok', { position: 3, kind: 'human_review', depends_on: ['id-ci', 'id-plan'] }),
  ];
}

describe('renderGoalTree', () => {
  it('draws the tree with states, gates, reviews, attempts and only the dependencies the layout does not show', () => {
    expect(renderGoalTree(designTasks(), { colour: false, goalMode: 'sequential' })).toEqual([
      '├─ ✓ plan    succeeded  PLAN',
      '├─ ● build   running    BUILD  (parallel)',
      '│  ├─ ✓ api  succeeded  API  ($0.25)',
      '│  └─ ✗ ui   failed     UI  (attempt 3/3; exit code 1)',
      '├─ ○ ci      pending    CI  (waits for gh_ci acme/web#42)',
      '└─ ○ ok      pending    OK  (after plan; a person reviews)',
    ]);
  });

  it('shows every dependency of a goal whose tasks run in parallel', () => {
    const lines = renderGoalTree([task('a', { position: 0 }), task('b', { position: 1, depends_on: ['id-a'] })], { colour: false, goalMode: 'parallel' });
    expect(lines[1]).toBe('└─ ○ b  pending  B  (after a)');
  });

  it('colours states only when asked', () => {
    const [line] = renderGoalTree([task('a', { status: 'failed' })], { colour: true, goalMode: 'sequential' });
    expect(line).toContain('\x1b[31mfailed\x1b[0m');
  });

  it('heads the tree with the goal, its progress over tasks that do work, and cost', () => {
    const goal = { id: 'g', title: 'Add dark mode', status: 'running', cost_usd: 1.234 } as Goal;
    expect(renderGoalHeader(goal, designTasks(), { colour: false })).toBe('Add dark mode  running  2/5 done  $1.23  g');
  });

  it('describes gates: pull requests, bound ones, compound ones and custom attributes', () => {
    expect(describeGate({ type: 'gh_ci', pr: { from: 'implement' }, on_timeout: 'fail', rework: 2 })).toBe('gh_ci pr from implement');
    expect(describeGate({ all: [{ type: 'gh_ci', repo: 'a/b', pr: 1 }, { type: 'gh_review', repo: 'a/b', pr: 1 }] })).toBe('all(gh_ci a/b#1, gh_review a/b#1)');
    expect(describeGate({ any: [{ type: 'deploy', env: 'prod' }, { type: 'human_approval', task_id: 'x' }] })).toBe('any(deploy env=prod, human_approval)');
  });
});

describe('describeChanges', () => {
  it('says which tasks moved, which appeared, and how the goal moved', () => {
    const goal = { id: 'g', title: 'G', status: 'pending' } as Goal;
    const before = { goal, tasks: [task('a'), task('b', { status: 'running', attempt: 1 })] };
    const after = {
      goal: { ...goal, status: 'running' as const },
      tasks: [task('a', { status: 'running', attempt: 1 }), task('b', { status: 'blocked', attempt: 1, error: 'needs a key\nstack' }), task('c')],
    };
    expect(describeChanges(before, after)).toEqual(['a: pending -> running', 'b: running -> blocked: needs a key', 'c: added (pending)', 'goal: pending -> running']);
    expect(describeChanges(after, after)).toEqual([]);
    const again = { ...after, tasks: after.tasks.map((t) => (t.key === 'a' ? { ...t, attempt: 2 } : t)) };
    expect(describeChanges(after, again)).toEqual(['a: ran attempt 2, running']);
  });
});

describe('readServerSentEvents', () => {
  it('reads messages and comments however the bytes are split', async () => {
    const text = ': connected\n\nid: 7\nevent: task.status_changed\ndata: {"a":\ndata: 1}\n\n: ping\r\n\r\nevent: end\ndata: {}\n\n';
    const bytes = new TextEncoder().encode(text);
    for (const size of [1, 3, bytes.length]) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size));
          controller.close();
        },
      });
      const items = [];
      for await (const item of readServerSentEvents(body)) items.push(item);
      expect(items, `chunks of ${size}`).toEqual([
        { kind: 'comment', text: 'connected' },
        { kind: 'message', id: '7', event: 'task.status_changed', data: '{"a":\n1}' },
        { kind: 'comment', text: 'ping' },
        { kind: 'message', id: null, event: 'end', data: '{}' },
      ]);
    }
  });
});
