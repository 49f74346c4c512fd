import { describe, expect, it } from 'vitest';
import { gateMatchKeys, gateToSpec, normalizeGate, parsePullRequestUrl, signalMatchKeys } from '../../server/domain/gate.js';

function gateOf(raw: unknown) {
  const result = normalizeGate(raw);
  if (!result.ok) throw new Error(result.error);
  return result.gate;
}

describe('normalizeGate', () => {
  it('treats pr_url and repo+pr as one thing, repos case-insensitively', () => {
    const fromUrl = gateOf({ type: 'gh_ci', pr_url: 'https://github.example.com/Acme/Web/pull/42' });
    const fromParts = gateOf({ type: 'gh_ci', repo: 'ACME/web', pr: '42' });
    expect(fromUrl.condition).toEqual(fromParts.condition);
    expect(fromParts.condition).toEqual({ type: 'gh_ci', attributes: { repo: 'acme/web', pr: 42 } });
  });

  it('keeps options apart from the condition', () => {
    const gate = gateOf({ type: 'gh_review', repo: 'a/b', pr: 1, timeout_s: 60, on_timeout: 'pass', rework: 0 });
    expect(gate).toEqual({
      condition: { type: 'gh_review', attributes: { repo: 'a/b', pr: 1 } },
      timeoutS: 60,
      onTimeout: 'pass',
      rework: 0,
    });
    expect(gateToSpec(gate)).toEqual({ type: 'gh_review', repo: 'a/b', pr: 1, timeout_s: 60, on_timeout: 'pass', rework: 0 });
  });

  it('accepts compound gates and custom types', () => {
    const gate = gateOf({
      all: [{ type: 'gh_ci', repo: 'a/b', pr: 3, sha: 'ABCDEF1' }, { any: [{ type: 'deploy_ok', env: 'staging' }, { type: 'human_approval' }] }],
    });
    expect(gateMatchKeys(gate.condition)).toEqual(['gh_ci|pr=a/b#3', 'deploy_ok|env=staging', 'human_approval|']);
  });

  it('rejects contradictions and bad values', () => {
    expect(normalizeGate({ type: 'gh_ci', pr_url: 'https://github.com/a/b/pull/1', pr: 2 })).toEqual({
      ok: false,
      error: 'gate: pr_url and pr disagree',
    });
    expect(normalizeGate({ type: 'gh_ci', repo: 'a/b', pr: -1 }).ok).toBe(false);
    expect(normalizeGate({ type: 'gh_ci', repo: 'a/b', sha: 'xyz' }).ok).toBe(false);
    expect(normalizeGate({ type: 'gh_ci', repo: 'no-slash' }).ok).toBe(false);
    expect(normalizeGate('gh_ci').ok).toBe(false);
  });
});

describe('match keys', () => {
  it('lets a signal with more attributes find a gate that names fewer', () => {
    const gate = gateOf({ type: 'gh_ci', repo: 'a/b', pr: 3 });
    const signalKeys = signalMatchKeys('gh_ci', { repo: 'a/b', pr: 3, sha: 'abcdef1' });
    expect(signalKeys).toContain(gateMatchKeys(gate.condition)[0]);
  });

  it('never gives a signal a key that matches every gate of its type', () => {
    expect(signalMatchKeys('human_approval', { task_id: 'x' })).toEqual(['human_approval|task_id=x']);
  });
});

describe('parsePullRequestUrl', () => {
  it('reads github.com and enterprise hosts', () => {
    expect(parsePullRequestUrl('https://github.com/o/r/pull/12')).toEqual({ repo: 'o/r', pr: 12 });
    expect(parsePullRequestUrl('https://git.corp.example/O/R/pull/5/files')).toEqual({ repo: 'o/r', pr: 5 });
    expect(parsePullRequestUrl('https://github.com/o/r/issues/12')).toBeNull();
  });
});
