import { describe, expect, it } from 'vitest';
import { bindGateToTask, gateMatchKeys, normalizeGate, signalMatchKeys, type GateCondition } from '../../server/domain/gate.js';
import {
  decideGate,
  leafMatches,
  normalizeSignal,
  reworkFeedback,
  type NormalizedSignal,
  type SignalStatus,
  type StoredSignal,
} from '../../server/domain/signal-rules.js';

/** A normalized signal, or the test fails with the reason it was refused. */
function signalOf(type: string, attributes: Record<string, string | number>): NormalizedSignal {
  const checked = normalizeSignal(type, attributes);
  if (!checked.ok) throw new Error(checked.error);
  return checked.signal;
}

function conditionOf(raw: unknown): GateCondition {
  const result = normalizeGate(raw);
  if (!result.ok) throw new Error(result.error);
  return result.gate.condition;
}

let clock = Date.UTC(2024, 0, 1);
let ids = 0;

/** A stored signal; each one made is newer than the one before. */
function stored(type: string, attributes: Record<string, string | number>, status: SignalStatus, summary: string | null = null, artifacts: unknown = null): StoredSignal {
  clock += 1000;
  ids += 1;
  return { id: `s${ids}`, ...signalOf(type, attributes), status, summary, artifacts, receivedAt: new Date(clock) };
}

/** Newest first, as the store hands them to decideGate. */
const newestFirst = (...signals: StoredSignal[]) => [...signals].sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime());

const ci = (status: SignalStatus, pr = 7, extra: Record<string, string | number> = {}) => stored('gh_ci', { repo: 'acme/web', pr, ...extra }, status, `ci ${status}`);
const review = (status: SignalStatus, pr = 7) => stored('gh_review', { repo: 'acme/web', pr }, status, `review ${status}`);
const CI_GATE = conditionOf({ type: 'gh_ci', repo: 'acme/web', pr: 7 });
const REVIEW_GATE = conditionOf({ type: 'gh_review', repo: 'acme/web', pr: 7 });

describe('normalizeSignal', () => {
  it('reads pr_url (github.com and an enterprise host) and repo+pr as the same thing', () => {
    const fromParts = signalOf('gh_ci', { repo: 'acme/web', pr: 42 });
    expect(fromParts).toEqual({ type: 'gh_ci', attributes: { repo: 'acme/web', pr: 42 } });
    expect(signalOf('gh_ci', { pr_url: 'https://github.com/acme/web/pull/42' })).toEqual(fromParts);
    expect(signalOf('gh_ci', { pr_url: 'https://git.corp.example/Acme/Web/pull/42/checks' })).toEqual(fromParts);
    // pr_url beside agreeing parts is fine; disagreeing parts are refused.
    expect(signalOf('gh_ci', { pr_url: 'https://github.com/acme/web/pull/42', repo: 'ACME/web', pr: '42' })).toEqual(fromParts);
    expect(normalizeSignal('gh_ci', { pr_url: 'https://github.com/acme/web/pull/42', pr: 43 })).toEqual({ ok: false, error: 'pr_url and pr disagree' });
    expect(normalizeSignal('gh_ci', { pr_url: 'https://github.com/acme/web/pull/42', repo: 'acme/api' })).toEqual({ ok: false, error: 'pr_url and repo disagree' });
  });

  it('compares repos case-insensitively and takes pr as a number or a numeric string', () => {
    expect(signalOf('gh_ci', { repo: 'Acme/Web', pr: '42' })).toEqual({ type: 'gh_ci', attributes: { repo: 'acme/web', pr: 42 } });
    expect(signalOf('gh_ci', { repo: 'ACME/WEB', pr: 42 }).attributes).toEqual(signalOf('gh_ci', { repo: 'acme/web', pr: '42' }).attributes);
  });

  it('lower-cases shas and keeps custom attributes as given', () => {
    expect(signalOf('gh_ci', { repo: 'a/b', pr: 1, sha: 'ABCDEF1234' }).attributes).toEqual({ repo: 'a/b', pr: 1, sha: 'abcdef1234' });
    expect(signalOf('deploy_ok', { env: 'staging', build: 17 })).toEqual({ type: 'deploy_ok', attributes: { env: 'staging', build: 17 } });
  });

  it('refuses a signal that names nothing to match on, rather than matching every gate of its type', () => {
    const refused = normalizeSignal('gh_ci', {});
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toMatch(/names nothing to match on/);
    expect(normalizeSignal('deploy_ok', {}).ok).toBe(false);
  });

  it('refuses a human_approval that names no task_id or goal_id', () => {
    expect(normalizeSignal('human_approval', {}).ok).toBe(false);
    expect(normalizeSignal('human_approval', { repo: 'a/b', pr: 3 })).toEqual({ ok: false, error: 'a human_approval signal names a task_id or a goal_id' });
    expect(signalOf('human_approval', { task_id: 'task-1' }).attributes).toEqual({ task_id: 'task-1' });
    expect(signalOf('human_approval', { goal_id: 'goal-1' }).attributes).toEqual({ goal_id: 'goal-1' });
  });

  it('refuses bad types, attribute names and values', () => {
    expect(normalizeSignal('GH_CI', { repo: 'a/b', pr: 1 }).ok).toBe(false);
    expect(normalizeSignal('gh-ci', { repo: 'a/b', pr: 1 }).ok).toBe(false);
    expect(normalizeSignal('gh_ci', { Repo: 'a/b' }).ok).toBe(false);
    expect(normalizeSignal('gh_ci', { pr_url: 'https://github.com/acme/web/issues/42' })).toEqual({
      ok: false,
      error: 'pr_url must look like https://<host>/<owner>/<repo>/pull/<number>',
    });
    expect(normalizeSignal('gh_ci', { pr_url: 'not a url' }).ok).toBe(false);
    expect(normalizeSignal('gh_ci', { repo: 'a/b', pr: '4x' }).ok).toBe(false);
    expect(normalizeSignal('gh_ci', { repo: 'a/b', pr: 0 }).ok).toBe(false);
    expect(normalizeSignal('gh_ci', { repo: 'a/b', pr: 1.5 }).ok).toBe(false);
    expect(normalizeSignal('gh_ci', { repo: 'no-owner', pr: 1 }).ok).toBe(false);
    expect(normalizeSignal('gh_ci', { repo: 'a/b', sha: 'not-hex' }).ok).toBe(false);
  });
});

describe('leafMatches', () => {
  const leaf = (raw: Record<string, unknown>) => conditionOf(raw) as { type: string; attributes: Record<string, string | number> };

  it('matches when the types are equal and every attribute the gate names is equal', () => {
    const gate = leaf({ type: 'gh_ci', pr_url: 'https://github.com/Acme/Web/pull/7' });
    expect(leafMatches(gate, signalOf('gh_ci', { repo: 'acme/web', pr: '7' }))).toBe(true);
    expect(leafMatches(gate, signalOf('gh_ci', { pr_url: 'https://github.example.com/ACME/web/pull/7' }))).toBe(true);
    expect(leafMatches(gate, signalOf('gh_ci', { repo: 'acme/web', pr: 8 }))).toBe(false);
    expect(leafMatches(gate, signalOf('gh_ci', { repo: 'acme/api', pr: 7 }))).toBe(false);
    expect(leafMatches(gate, signalOf('gh_review', { repo: 'acme/web', pr: 7 }))).toBe(false);
    // A signal that names less than the gate does not match it.
    expect(leafMatches(gate, signalOf('gh_ci', { repo: 'acme/web' }))).toBe(false);
  });

  it('a gate with a sha matches that commit only; a gate without one matches any', () => {
    const pinned = leaf({ type: 'gh_ci', repo: 'acme/web', pr: 7, sha: 'ABCDEF1234' });
    expect(leafMatches(pinned, signalOf('gh_ci', { repo: 'acme/web', pr: 7, sha: 'abcdef1234' }))).toBe(true);
    expect(leafMatches(pinned, signalOf('gh_ci', { repo: 'acme/web', pr: 7, sha: 'ABCDEF1234' }))).toBe(true);
    expect(leafMatches(pinned, signalOf('gh_ci', { repo: 'acme/web', pr: 7, sha: '1234abcdef' }))).toBe(false);
    expect(leafMatches(pinned, signalOf('gh_ci', { repo: 'acme/web', pr: 7 }))).toBe(false);

    const anyCommit = leaf({ type: 'gh_ci', repo: 'acme/web', pr: 7 });
    expect(leafMatches(anyCommit, signalOf('gh_ci', { repo: 'acme/web', pr: 7, sha: 'abcdef1234' }))).toBe(true);
    expect(leafMatches(anyCommit, signalOf('gh_ci', { repo: 'acme/web', pr: 7, sha: '1234abcdef' }))).toBe(true);
    expect(leafMatches(anyCommit, signalOf('gh_ci', { repo: 'acme/web', pr: 7 }))).toBe(true);
  });

  it('a gate may name an abbreviated sha: a signal\'s full sha that starts with it matches', () => {
    const full = 'abcdef0123456789abcdef0123456789abcdef01';
    const short = leaf({ type: 'gh_ci', repo: 'acme/web', pr: 7, sha: 'ABCDEF0' });
    expect(leafMatches(short, signalOf('gh_ci', { repo: 'acme/web', pr: 7, sha: full }))).toBe(true);
    expect(leafMatches(short, signalOf('gh_ci', { repo: 'acme/web', pr: 7, sha: 'abcdef1' + full.slice(7) }))).toBe(false);
    // The other way round is not a match: a signal's short sha could be any of many commits.
    const exact = leaf({ type: 'gh_ci', repo: 'acme/web', pr: 7, sha: full });
    expect(leafMatches(exact, signalOf('gh_ci', { repo: 'acme/web', pr: 7, sha: 'abcdef0' }))).toBe(false);
    // Only shas are prefixes; other attributes compare whole.
    expect(leafMatches(leaf({ type: 'deploy_ok', env: 'stag' }), signalOf('deploy_ok', { env: 'staging' }))).toBe(false);
  });

  it.each(['gh_ci', 'gh_review', 'centaur_review'])('%s gates match on their pull request', (type) => {
    const gate = leaf({ type, repo: 'Acme/Web', pr: 9 });
    expect(leafMatches(gate, signalOf(type, { pr_url: 'https://github.com/acme/web/pull/9' }))).toBe(true);
    expect(leafMatches(gate, signalOf(type, { repo: 'acme/web', pr: 10 }))).toBe(false);
    const other = type === 'gh_ci' ? 'gh_review' : 'gh_ci';
    expect(leafMatches(gate, signalOf(other, { repo: 'acme/web', pr: 9 }))).toBe(false);
  });

  it('human_approval gates are bound to their task and match a signal naming it', () => {
    const bound = bindGateToTask(conditionOf({ type: 'human_approval' }), 'task-1') as { type: string; attributes: Record<string, string | number> };
    expect(bound).toEqual({ type: 'human_approval', attributes: { task_id: 'task-1' } });
    expect(leafMatches(bound, signalOf('human_approval', { task_id: 'task-1' }))).toBe(true);
    expect(leafMatches(bound, signalOf('human_approval', { task_id: 'task-2' }))).toBe(false);
    expect(leafMatches(bound, signalOf('human_approval', { goal_id: 'task-1' }))).toBe(false);
    // A gate that names its goal is approved by a signal naming that goal.
    const byGoal = leaf({ type: 'human_approval', goal_id: 'goal-1' });
    expect(leafMatches(byGoal, signalOf('human_approval', { goal_id: 'goal-1' }))).toBe(true);
    expect(leafMatches(byGoal, signalOf('human_approval', { goal_id: 'goal-2' }))).toBe(false);
  });

  it('a custom type matches on its own attributes, all of them', () => {
    const gate = leaf({ type: 'deploy_ok', env: 'staging', region: 'eu' });
    expect(leafMatches(gate, signalOf('deploy_ok', { env: 'staging', region: 'eu' }))).toBe(true);
    expect(leafMatches(gate, signalOf('deploy_ok', { env: 'staging', region: 'eu', build: 12 }))).toBe(true);
    expect(leafMatches(gate, signalOf('deploy_ok', { env: 'staging' }))).toBe(false);
    expect(leafMatches(gate, signalOf('deploy_ok', { env: 'staging', region: 'us' }))).toBe(false);
    expect(leafMatches(gate, signalOf('deploy_done', { env: 'staging', region: 'eu' }))).toBe(false);
    // Numbers and their string form are the same value.
    const build = leaf({ type: 'deploy_ok', build: 12 });
    expect(leafMatches(build, signalOf('deploy_ok', { build: '12' }))).toBe(true);
    // And the signal's keys find the gate's.
    expect(signalMatchKeys('deploy_ok', signalOf('deploy_ok', { env: 'staging', region: 'eu' }).attributes)).toContain(gateMatchKeys(gate)[0]);
  });
});

describe('decideGate', () => {
  it('a leaf is open until a matching signal arrives, then takes the newest one', () => {
    expect(decideGate(CI_GATE, [])).toEqual({ state: 'open', deciding: [] });
    expect(decideGate(CI_GATE, [ci('pass', 8), review('pass')])).toEqual({ state: 'open', deciding: [] });

    const failed = ci('fail');
    expect(decideGate(CI_GATE, [failed])).toEqual({ state: 'fail', deciding: [failed] });
    const passed = ci('pass');
    expect(decideGate(CI_GATE, newestFirst(failed, passed))).toEqual({ state: 'pass', deciding: [passed] });
    const failedAgain = ci('fail');
    expect(decideGate(CI_GATE, newestFirst(failed, passed, failedAgain))).toEqual({ state: 'fail', deciding: [failedAgain] });
  });

  it('a leaf with a sha ignores results for other commits', () => {
    const gate = conditionOf({ type: 'gh_ci', repo: 'acme/web', pr: 7, sha: 'aaaaaaa' });
    const other = ci('fail', 7, { sha: 'bbbbbbb' });
    expect(decideGate(gate, [other])).toEqual({ state: 'open', deciding: [] });
    const mine = ci('pass', 7, { sha: 'aaaaaaa' });
    const newerOther = ci('fail', 7, { sha: 'bbbbbbb' });
    expect(decideGate(gate, newestFirst(other, mine, newerOther))).toEqual({ state: 'pass', deciding: [mine] });
  });

  describe('all', () => {
    const gate = conditionOf({ all: [{ type: 'gh_ci', repo: 'acme/web', pr: 7 }, { type: 'gh_review', repo: 'acme/web', pr: 7 }] });

    it('stays open while any part is open and none failed', () => {
      expect(decideGate(gate, []).state).toBe('open');
      expect(decideGate(gate, [ci('pass')])).toEqual({ state: 'open', deciding: [] });
      expect(decideGate(gate, [review('pass')])).toEqual({ state: 'open', deciding: [] });
    });

    it('passes when every part passed, with every deciding signal', () => {
      const c = ci('pass');
      const r = review('pass');
      const decision = decideGate(gate, newestFirst(c, r));
      expect(decision.state).toBe('pass');
      expect(decision.deciding.map((s) => s.id).sort()).toEqual([c.id, r.id].sort());
    });

    it('fails as soon as one part fails, even while another is open, naming only the failure', () => {
      const r = review('fail');
      expect(decideGate(gate, [r])).toEqual({ state: 'fail', deciding: [r] });
      const c = ci('pass');
      expect(decideGate(gate, newestFirst(r, c))).toEqual({ state: 'fail', deciding: [r] });
    });

    it('a newer pass on the failed part brings it back to pass', () => {
      const c = ci('pass');
      const r1 = review('fail');
      const r2 = review('pass');
      expect(decideGate(gate, newestFirst(c, r1, r2)).state).toBe('pass');
    });
  });

  describe('any', () => {
    const gate = conditionOf({ any: [{ type: 'gh_ci', repo: 'acme/web', pr: 7 }, { type: 'gh_review', repo: 'acme/web', pr: 7 }] });

    it('passes as soon as one part passes, even while another is open', () => {
      const c = ci('pass');
      expect(decideGate(gate, [c])).toEqual({ state: 'pass', deciding: [c] });
      const r = review('fail');
      expect(decideGate(gate, newestFirst(c, r))).toEqual({ state: 'pass', deciding: [c] });
    });

    it('stays open while one part failed and another is open', () => {
      expect(decideGate(gate, [review('fail')])).toEqual({ state: 'open', deciding: [] });
    });

    it('fails when every part failed, with every failure', () => {
      const c = ci('fail');
      const r = review('fail');
      const decision = decideGate(gate, newestFirst(c, r));
      expect(decision.state).toBe('fail');
      expect(decision.deciding.map((s) => s.id).sort()).toEqual([c.id, r.id].sort());
    });
  });

  describe('nested', () => {
    // CI and (a review bot or a person).
    const gate = conditionOf({
      all: [
        { type: 'gh_ci', repo: 'acme/web', pr: 7 },
        { any: [{ type: 'centaur_review', repo: 'acme/web', pr: 7 }, { type: 'human_approval', goal_id: 'goal-1' }] },
      ],
    });
    const bot = (status: SignalStatus) => stored('centaur_review', { repo: 'acme/web', pr: 7 }, status, `bot ${status}`);
    const person = (status: SignalStatus) => stored('human_approval', { goal_id: 'goal-1' }, status, `person ${status}`);

    it('passes when CI passed and either reviewer passed', () => {
      expect(decideGate(gate, newestFirst(ci('pass'), bot('pass'))).state).toBe('pass');
      expect(decideGate(gate, newestFirst(ci('pass'), bot('fail'), person('pass'))).state).toBe('pass');
    });

    it('is open while the inner any is undecided', () => {
      expect(decideGate(gate, [ci('pass')]).state).toBe('open');
      expect(decideGate(gate, newestFirst(ci('pass'), bot('fail'))).state).toBe('open');
      expect(decideGate(gate, [bot('pass')]).state).toBe('open');
    });

    it('fails when CI failed, or when both reviewers failed', () => {
      const c = ci('fail');
      expect(decideGate(gate, newestFirst(c, bot('pass')))).toEqual({ state: 'fail', deciding: [c] });
      const b = bot('fail');
      const p = person('fail');
      const decision = decideGate(gate, newestFirst(ci('pass'), b, p));
      expect(decision.state).toBe('fail');
      expect(decision.deciding.map((s) => s.id).sort()).toEqual([b.id, p.id].sort());
    });
  });

  it('decides a custom type on its custom attributes', () => {
    const gate = conditionOf({ type: 'deploy_ok', env: 'staging' });
    expect(decideGate(gate, [stored('deploy_ok', { env: 'production' }, 'pass')]).state).toBe('open');
    const staging = stored('deploy_ok', { env: 'staging', build: 3 }, 'pass');
    expect(decideGate(gate, [staging])).toEqual({ state: 'pass', deciding: [staging] });
  });

  it('does not mix up gates of different types on one pull request', () => {
    expect(decideGate(REVIEW_GATE, [ci('pass')]).state).toBe('open');
    expect(decideGate(CI_GATE, [review('fail')]).state).toBe('open');
  });
});

describe('reworkFeedback', () => {
  it('puts the source, each summary and its artifacts in the text', () => {
    const text = reworkFeedback('A required check failed', [
      { summary: 'lint failed: 3 errors', artifacts: { failing_checks: ['lint', 'typecheck'] } },
      { summary: 'Please add tests', artifacts: null },
    ]);
    expect(text.startsWith('A required check failed:\n')).toBe(true);
    expect(text).toContain('lint failed: 3 errors');
    expect(text).toContain('"failing_checks"');
    expect(text).toContain('"typecheck"');
    expect(text).toContain('Please add tests');
    expect(text.indexOf('lint failed')).toBeLessThan(text.indexOf('Please add tests'));
  });

  it('says so when there is no summary or nothing at all', () => {
    expect(reworkFeedback('CI', [{ summary: null, artifacts: undefined }])).toBe('CI:\n(no summary)');
    expect(reworkFeedback('CI', [])).toBe('CI:\n(no details)');
  });
});
