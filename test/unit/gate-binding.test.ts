import { describe, expect, it } from 'vitest';
import { bindGate, pullRequestInResult } from '../../server/domain/gate-binding.js';
import { gateMatchKeys, gateToSpec, normalizeGate } from '../../server/domain/gate.js';
import { planGoalTree, type TaskSpec } from '../../server/domain/goal-tree.js';
import { decideGate, leafMatches } from '../../server/domain/signal-rules.js';

function gateOf(raw: unknown) {
  const result = normalizeGate(raw);
  if (!result.ok) throw new Error(result.error);
  return result.gate;
}

const SHA = 'a'.repeat(40);

describe('gates taking attributes {from} a task', () => {
  it('normalize to an unbound leaf that is filed under nothing, matches nothing and round-trips', () => {
    const gate = gateOf({ type: 'gh_ci', pr: { from: 'implement' } });
    expect(gate.condition).toEqual({ type: 'gh_ci', attributes: {}, bind: { from: 'implement', pr: true, sha: false } });
    expect(gateMatchKeys(gate.condition)).toEqual([]);
    expect(leafMatches(gate.condition as never, { type: 'gh_ci', attributes: { repo: 'a/b', pr: 1 } })).toBe(false);
    expect(gateOf(gateToSpec(gate))).toEqual(gate);
  });

  it('refuses {from} on other attributes, two sources in one condition, and a named pr beside a bound one', () => {
    expect(normalizeGate({ type: 'gh_ci', env: { from: 'x' } })).toMatchObject({ ok: false, error: expect.stringMatching(/cannot be taken \{from\}/) });
    expect(normalizeGate({ type: 'gh_ci', pr: { from: 'x' }, sha: { from: 'y' } })).toMatchObject({ ok: false, error: expect.stringMatching(/same task/) });
    expect(normalizeGate({ type: 'gh_ci', pr: { from: 'x' }, repo: 'a/b' })).toMatchObject({ ok: false, error: expect.stringMatching(/cannot also be named/) });
    expect(normalizeGate({ type: 'gh_ci', pr: { from: 'x', to: 1 } })).toMatchObject({ ok: false });
  });

  it('bind a gh_ci gate to the reported pull request and its head sha', () => {
    const gate = gateOf({ all: [{ type: 'gh_ci', pr: { from: 'implement' } }, { type: 'gh_review', pr_url: { from: 'implement' } }] });
    const bound = bindGate(gate.condition, new Map([['implement', { repo: 'acme/web', pr: 7, sha: SHA }]]));
    expect(bound).toEqual({
      ok: true,
      condition: {
        all: [
          { type: 'gh_ci', attributes: { repo: 'acme/web', pr: 7, sha: SHA } },
          // Reviews are of the pull request; a gate that wants the head names sha {from} too.
          { type: 'gh_review', attributes: { repo: 'acme/web', pr: 7 } },
        ],
      },
    });
    if (bound.ok) expect(gateMatchKeys(bound.condition)).toEqual(['gh_ci|pr=acme/web#7', 'gh_review|pr=acme/web#7']);
  });

  it('fail with a message naming the source when it reported no pull request (or no sha one was asked for)', () => {
    const gate = gateOf({ type: 'gh_ci', pr: { from: 'implement' } });
    expect(bindGate(gate.condition, new Map([['implement', null]]))).toEqual({
      ok: false,
      error: 'the gate takes its pull request from task "implement", which reported no pull request',
    });
    const withSha = gateOf({ type: 'deploy_ok', sha: { from: 'implement' } });
    expect(bindGate(withSha.condition, new Map([['implement', { repo: 'a/b', pr: 1 }]]))).toMatchObject({ ok: false, error: expect.stringMatching(/no head sha/) });
  });
});

describe('pullRequestInResult', () => {
  it('reads result.pull_request, artifacts.pull_request (object or URL) and artifacts.pr_url', () => {
    expect(pullRequestInResult({ pull_request: { url: 'https://github.com/Acme/Web/pull/3', head_sha: SHA.toUpperCase(), repo: 'Acme/Web', number: 3 } })).toEqual({
      repo: 'acme/web',
      pr: 3,
      sha: SHA,
    });
    expect(pullRequestInResult({ artifacts: { pull_request: 'https://github.com/a/b/pull/4' } })).toEqual({ repo: 'a/b', pr: 4 });
    expect(pullRequestInResult({ artifacts: { pull_request: { repo: 'a/b', number: 5, sha: 'abcdef1' } } })).toEqual({ repo: 'a/b', pr: 5, sha: 'abcdef1' });
    expect(pullRequestInResult({ artifacts: { pr_url: 'https://github.com/a/b/pull/6' } })).toEqual({ repo: 'a/b', pr: 6 });
    expect(pullRequestInResult({ summary: 'done' })).toBeNull();
    expect(pullRequestInResult(null)).toBeNull();
  });
});

describe('planning a goal whose gate takes {from} a task', () => {
  const plan = (tasks: TaskSpec[]) => planGoalTree(tasks, 'sequential', { maxTasks: 100, maxDepth: 8 });
  const gate = (from: string, extra: Partial<TaskSpec> = {}): TaskSpec => ({ key: 'ci', title: 'CI', kind: 'wait_for_signal', gate: { type: 'gh_ci', pr: { from } }, ...extra });

  it('accepts an agent task the gate waits for, directly, in sequence or inside a group before it', () => {
    expect(plan([{ key: 'implement', title: 'I' }, gate('implement')]).ok).toBe(true);
    expect(plan([{ key: 'impl', title: 'I' }, { key: 'docs', title: 'D' }, gate('impl')]).ok).toBe(true);
    expect(plan([{ key: 'build', title: 'B', children: [{ key: 'api', title: 'A' }] }, gate('api')]).ok).toBe(true);
  });

  it('refuses an unknown key, a task that is not agent work, and a task the gate does not wait for', () => {
    expect(plan([{ key: 'implement', title: 'I' }, gate('nope')])).toMatchObject({ ok: false, errors: [{ task: 'ci', message: 'the gate takes {from} unknown task "nope"' }] });
    expect(plan([{ key: 'g', title: 'G', children: [{ key: 'x', title: 'X' }] }, gate('g')])).toMatchObject({ ok: false, errors: [{ message: expect.stringMatching(/not an agent task/) }] });
    const after = planGoalTree([gate('later'), { key: 'later', title: 'L' }], 'parallel', { maxTasks: 100, maxDepth: 8 });
    expect(after).toMatchObject({ ok: false, errors: [{ message: expect.stringMatching(/does not wait for it/) }] });
  });
});

describe('a gh_ci gate naming its required checks', () => {
  const signal = (status: 'pass' | 'fail', checks?: { name: string; state: string }[]) => ({
    id: 's1',
    type: 'gh_ci',
    attributes: { repo: 'a/b', pr: 1, sha: SHA },
    status,
    summary: null,
    artifacts: checks ? { checks } : null,
    receivedAt: new Date(),
  });

  it('keeps the list through normalization, binding and the stored form, and refuses it elsewhere', () => {
    const gate = gateOf({ type: 'gh_ci', pr: { from: 'implement' }, checks: ['build', 'test', 'build'] });
    expect(gate.condition).toMatchObject({ checks: ['build', 'test'] });
    expect(gateOf(gateToSpec(gate))).toEqual(gate);
    const bound = bindGate(gate.condition, new Map([['implement', { repo: 'a/b', pr: 1, sha: SHA }]]));
    expect(bound.ok && bound.condition).toEqual({ type: 'gh_ci', attributes: { repo: 'a/b', pr: 1, sha: SHA }, checks: ['build', 'test'] });
    expect(normalizeGate({ type: 'gh_review', repo: 'a/b', pr: 1, checks: ['x'] })).toMatchObject({ ok: false });
    expect(normalizeGate({ type: 'gh_ci', repo: 'a/b', pr: 1, checks: [] })).toMatchObject({ ok: false });
  });

  it('is decided by those checks alone: another failing check does not fail it, a missing one keeps it open', () => {
    const gate = gateOf({ type: 'gh_ci', repo: 'a/b', pr: 1, checks: ['build'] });
    expect(decideGate(gate.condition, [signal('fail', [{ name: 'build', state: 'pass' }, { name: 'flaky', state: 'fail' }])]).state).toBe('pass');
    expect(decideGate(gate.condition, [signal('fail', [{ name: 'build', state: 'fail' }])]).state).toBe('fail');
    expect(decideGate(gate.condition, [signal('pass', [{ name: 'lint', state: 'pass' }])]).state).toBe('open');
    // A signal with no list of checks (posted by CI itself) is taken at its word.
    expect(decideGate(gate.condition, [signal('pass')]).state).toBe('pass');
  });
});
