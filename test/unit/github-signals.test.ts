import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { MAX_SIGNALS_PER_DELIVERY, signalsFromGithubEvent, verifyGithubSignature, type GithubEventOutcome } from '../../server/signals/github.js';

/** The community's real webhook payloads; the package is JSON, so it is loaded with require. */
const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, any>[] }[];

/** A deep copy of the first example of `event` that `pick` accepts, free to edit. */
function example(event: string, pick: (payload: Record<string, any>) => boolean = () => true): Record<string, any> {
  const found = definitions.find((d) => d.name === event)?.examples.find(pick);
  if (!found) throw new Error(`no ${event} example matches`);
  return structuredClone(found);
}

function examplesOf(event: string): Record<string, any>[] {
  return structuredClone(definitions.find((d) => d.name === event)?.examples ?? []);
}

function signalsOf(outcome: GithubEventOutcome) {
  if (outcome.kind !== 'signals') throw new Error(`expected signals, got ${JSON.stringify(outcome)}`);
  return outcome.signals;
}

const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
const HELLO_SHA = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';

const completedSuiteWithPr = () =>
  example('check_suite', (p) => p.action === 'completed' && p.check_suite.pull_requests.length > 0);

describe('signalsFromGithubEvent: check_suite', () => {
  it('maps a real completed, successful check suite to a passing gh_ci signal for its pull request', () => {
    const signals = signalsOf(signalsFromGithubEvent('check_suite', completedSuiteWithPr(), DELIVERY));
    expect(signals).toEqual([
      {
        type: 'gh_ci',
        attributes: { repo: 'codertocat/hello-world', pr: 2, sha: HELLO_SHA },
        status: 'pass',
        summary: 'CI: octocoders-linter success on ec26c3e',
        artifacts: {
          event: 'check_suite',
          delivery_id: DELIVERY,
          conclusion: 'success',
          app: 'octocoders-linter',
          check_suite_id: 118578147,
          url: 'https://api.github.com/repos/Codertocat/Hello-World/check-suites/118578147',
          head_branch: 'changes',
        },
        idempotencyKey: 'github:check_suite:118578147:2019-05-15T15:21:14Z:codertocat/hello-world#2',
      },
    ]);
  });

  it('fails on failure, timed_out, cancelled, action_required and startup_failure', () => {
    for (const conclusion of ['failure', 'timed_out', 'cancelled', 'action_required', 'startup_failure']) {
      const payload = completedSuiteWithPr();
      payload.check_suite.conclusion = conclusion;
      const [signal] = signalsOf(signalsFromGithubEvent('check_suite', payload, DELIVERY));
      expect(signal).toMatchObject({ type: 'gh_ci', status: 'fail', summary: `CI: octocoders-linter ${conclusion} on ec26c3e` });
    }
  });

  it('ignores conclusions that neither pass nor fail', () => {
    for (const conclusion of ['neutral', 'skipped', 'stale', null]) {
      const payload = completedSuiteWithPr();
      payload.check_suite.conclusion = conclusion;
      expect(signalsFromGithubEvent('check_suite', payload, DELIVERY)).toMatchObject({ kind: 'ignored' });
    }
  });

  it('ignores a real completed suite that lists no pull request', () => {
    const payload = example('check_suite', (p) => p.action === 'completed' && p.check_suite.pull_requests.length === 0);
    expect(signalsFromGithubEvent('check_suite', payload, DELIVERY)).toEqual({
      kind: 'ignored',
      reason: 'the check_suite lists no pull request',
    });
  });

  it('ignores the real requested and rerequested suites: they are not results', () => {
    const others = examplesOf('check_suite').filter((p) => p.action !== 'completed');
    expect(others.length).toBeGreaterThan(0);
    for (const payload of others) {
      expect(signalsFromGithubEvent('check_suite', payload, DELIVERY)).toEqual({
        kind: 'ignored',
        reason: `check_suite ${payload.action} is not a result`,
      });
    }
  });

  it('posts one signal per listed pull request, each with its own idempotency key', () => {
    const payload = completedSuiteWithPr();
    const [pr] = payload.check_suite.pull_requests;
    payload.check_suite.pull_requests.push({ ...structuredClone(pr), number: 7 }, structuredClone(pr));
    const signals = signalsOf(signalsFromGithubEvent('check_suite', payload, DELIVERY));
    expect(signals.map((s) => [s.attributes.pr, s.idempotencyKey])).toEqual([
      [2, 'github:check_suite:118578147:2019-05-15T15:21:14Z:codertocat/hello-world#2'],
      [7, 'github:check_suite:118578147:2019-05-15T15:21:14Z:codertocat/hello-world#7'],
    ]);
  });

  it('keys each signal by the suite and when it completed, not by the delivery: a replay under a new delivery id gets the same key', () => {
    const payload = completedSuiteWithPr();
    const key = (p: Record<string, any>, delivery: string) => signalsOf(signalsFromGithubEvent('check_suite', p, delivery))[0]!.idempotencyKey;
    expect(key(payload, 'another-delivery')).toBe(key(payload, DELIVERY));
    // The suite re-run and completed again: a new result.
    const rerun = structuredClone(payload);
    rerun.check_suite.updated_at = '2019-05-15T16:00:00Z';
    expect(key(rerun, DELIVERY)).not.toBe(key(payload, DELIVERY));
    // Without an id to go by, the delivery id is all there is.
    delete payload.check_suite.id;
    expect(key(payload, DELIVERY)).toBe(`github:delivery:${DELIVERY}:codertocat/hello-world#2`);
  });

  it(`posts at most ${MAX_SIGNALS_PER_DELIVERY} signals and says how many pull requests it left out`, () => {
    const payload = completedSuiteWithPr();
    const [pr] = payload.check_suite.pull_requests;
    payload.check_suite.pull_requests = Array.from({ length: MAX_SIGNALS_PER_DELIVERY + 5 }, (_, i) => ({ ...structuredClone(pr), number: i + 1 }));
    const outcome = signalsFromGithubEvent('check_suite', payload, DELIVERY);
    expect(outcome).toMatchObject({ kind: 'signals', dropped: 5 });
    expect(signalsOf(outcome).map((s) => s.attributes.pr)).toEqual(Array.from({ length: MAX_SIGNALS_PER_DELIVERY }, (_, i) => i + 1));
  });

  it('leaves out pull requests of other repositories and ones whose head moved on', () => {
    const payload = completedSuiteWithPr();
    const [pr] = payload.check_suite.pull_requests;
    const foreign = structuredClone(pr);
    foreign.number = 3;
    foreign.base.repo = { id: 1, url: 'https://api.github.com/repos/someone/fork', name: 'fork' };
    const moved = structuredClone(pr);
    moved.number = 4;
    moved.head.sha = 'f'.repeat(40);
    payload.check_suite.pull_requests = [foreign, pr, moved];
    expect(signalsOf(signalsFromGithubEvent('check_suite', payload, DELIVERY)).map((s) => s.attributes.pr)).toEqual([2]);

    payload.check_suite.pull_requests = [foreign, moved];
    expect(signalsFromGithubEvent('check_suite', payload, DELIVERY)).toMatchObject({ kind: 'ignored' });
  });

  it('tells the repository of a pull request by its URL when ids are missing', () => {
    const payload = completedSuiteWithPr();
    const [pr] = payload.check_suite.pull_requests;
    delete pr.base.repo.id;
    expect(signalsOf(signalsFromGithubEvent('check_suite', payload, DELIVERY))).toHaveLength(1);
    pr.base.repo.url = 'https://api.github.com/repos/someone/else';
    expect(signalsFromGithubEvent('check_suite', payload, DELIVERY)).toMatchObject({ kind: 'ignored' });
  });

  it('ignores payloads without what a signal needs', () => {
    const noRepo = completedSuiteWithPr();
    delete noRepo.repository;
    expect(signalsFromGithubEvent('check_suite', noRepo, DELIVERY)).toMatchObject({ kind: 'ignored' });
    const noSha = completedSuiteWithPr();
    noSha.check_suite.head_sha = 'not a sha';
    expect(signalsFromGithubEvent('check_suite', noSha, DELIVERY)).toMatchObject({ kind: 'ignored' });
    const badNumber = completedSuiteWithPr();
    badNumber.check_suite.pull_requests[0].number = '2';
    expect(signalsFromGithubEvent('check_suite', badNumber, DELIVERY)).toMatchObject({ kind: 'ignored' });
    for (const payload of [null, 'text', 42, []]) {
      expect(signalsFromGithubEvent('check_suite', payload, DELIVERY)).toMatchObject({ kind: 'ignored' });
    }
  });
});

describe('signalsFromGithubEvent: workflow_run', () => {
  it('ignores every real workflow_run example: none is a result for a pull request of its repository', () => {
    const reasons = examplesOf('workflow_run').map((payload) => signalsFromGithubEvent('workflow_run', payload, DELIVERY));
    expect(reasons).toEqual([
      { kind: 'ignored', reason: 'workflow_run concluded nothing, which neither passes nor fails' },
      { kind: 'ignored', reason: 'the workflow_run lists no pull request' },
      // It lists a pull request of Codertocat/Hello-World, though the run is octo-org/octo-repo's.
      {
        kind: 'ignored',
        reason: 'none of the pull requests the workflow_run lists is a pull request of octo-org/octo-repo at 3484a3f',
      },
      { kind: 'ignored', reason: 'workflow_run requested is not a result' },
      { kind: 'ignored', reason: 'workflow_run requested is not a result' },
    ]);
  });

  /** The real completed run of octo-org/octo-repo, given a pull request of its own. */
  function runWithPr(conclusion: string) {
    const payload = example('workflow_run', (p) => p.action === 'completed' && p.workflow_run.conclusion === 'success');
    const run = payload.workflow_run;
    run.conclusion = conclusion;
    run.pull_requests = [
      {
        url: 'https://api.github.com/repos/octo-org/octo-repo/pulls/12',
        id: 1,
        number: 12,
        head: { ref: 'feature', sha: run.head_sha, repo: { id: payload.repository.id, url: payload.repository.url, name: 'octo-repo' } },
        base: { ref: 'master', sha: 'a'.repeat(40), repo: { id: payload.repository.id, url: payload.repository.url, name: 'octo-repo' } },
      },
    ];
    return payload;
  }

  it('maps a completed run to gh_ci with the head sha, named after its workflow', () => {
    const payload = runWithPr('success');
    const sha = payload.workflow_run.head_sha;
    expect(signalsOf(signalsFromGithubEvent('workflow_run', payload, DELIVERY))).toEqual([
      {
        type: 'gh_ci',
        attributes: { repo: 'octo-org/octo-repo', pr: 12, sha },
        status: 'pass',
        // The run's own name is empty in this payload: the workflow's is used.
        summary: `CI: test success on ${sha.slice(0, 7)}`,
        artifacts: {
          event: 'workflow_run',
          delivery_id: DELIVERY,
          conclusion: 'success',
          workflow: 'test',
          html_url: 'https://github.com/octo-org/octo-repo/actions/runs/289782451',
          run_id: 289782451,
          run_attempt: 1,
          head_branch: 'master',
        },
        idempotencyKey: 'github:workflow_run:289782451:1:octo-org/octo-repo#12',
      },
    ]);
  });

  it('fails on the failing conclusions', () => {
    for (const conclusion of ['failure', 'timed_out', 'cancelled', 'action_required']) {
      const payload = runWithPr(conclusion);
      payload.workflow_run.name = 'Build & test';
      const [signal] = signalsOf(signalsFromGithubEvent('workflow_run', payload, DELIVERY));
      expect(signal).toMatchObject({ status: 'fail', summary: `CI: Build & test ${conclusion} on 3484a3f` });
    }
  });

  it('ignores a run that is not completed', () => {
    const payload = runWithPr('success');
    payload.action = 'in_progress';
    expect(signalsFromGithubEvent('workflow_run', payload, DELIVERY)).toEqual({
      kind: 'ignored',
      reason: 'workflow_run in_progress is not a result',
    });
  });
});

describe('signalsFromGithubEvent: pull_request_review', () => {
  it('ignores the real examples: comments and a dismissal are not verdicts', () => {
    const outcomes = examplesOf('pull_request_review').map((p) => signalsFromGithubEvent('pull_request_review', p, DELIVERY));
    expect(outcomes).toEqual([
      { kind: 'ignored', reason: 'a review that is commented is not a verdict' },
      { kind: 'ignored', reason: 'pull_request_review dismissed is not a verdict' },
      { kind: 'ignored', reason: 'a review that is commented is not a verdict' },
      { kind: 'ignored', reason: 'a review that is commented is not a verdict' },
    ]);
  });

  const submitted = (state: string, body: string | null) => {
    const payload = example('pull_request_review', (p) => p.action === 'submitted');
    payload.review.state = state;
    payload.review.body = body;
    return payload;
  };

  it('maps an approval to a passing gh_review for the pull request and the commit reviewed', () => {
    expect(signalsOf(signalsFromGithubEvent('pull_request_review', submitted('approved', null), DELIVERY))).toEqual([
      {
        type: 'gh_review',
        attributes: { repo: 'codertocat/hello-world', pr: 2, sha: HELLO_SHA },
        status: 'pass',
        summary: 'Review: approved by Codertocat',
        artifacts: {
          event: 'pull_request_review',
          delivery_id: DELIVERY,
          state: 'approved',
          html_url: 'https://github.com/Codertocat/Hello-World/pull/2#pullrequestreview-237895671',
          user: 'Codertocat',
          review_id: 237895671,
          author_association: 'OWNER',
        },
        idempotencyKey: 'github:pull_request_review:237895671:codertocat/hello-world#2',
      },
    ]);
  });

  it('maps requested changes to a failing gh_review that carries the review body, non-ASCII included', () => {
    const body = 'Bitte die Fehlerbehandlung überarbeiten — «naïve» retry loop 🚫, 修正してください';
    const [signal] = signalsOf(signalsFromGithubEvent('pull_request_review', submitted('changes_requested', body), DELIVERY));
    expect(signal).toMatchObject({ type: 'gh_review', status: 'fail', summary: body });
    const [bare] = signalsOf(signalsFromGithubEvent('pull_request_review', submitted('changes_requested', '  '), DELIVERY));
    expect(bare!.summary).toBe('Review: changes requested by Codertocat');
  });

  it('keeps text Postgres can store and summaries of a readable size', () => {
    const [withNul] = signalsOf(signalsFromGithubEvent('pull_request_review', submitted('changes_requested', 'a\u0000b'), DELIVERY));
    expect(withNul!.summary).toBe('ab');
    const [long] = signalsOf(signalsFromGithubEvent('pull_request_review', submitted('changes_requested', '😀'.repeat(30_000)), DELIVERY));
    expect(long!.summary!.length).toBeLessThanOrEqual(20_000);
    expect(long!.summary!.endsWith('😀…')).toBe(true);
  });

  it('reads review states in any case, and leaves out a commit id that is not one', () => {
    const payload = submitted('APPROVED', 'LGTM');
    payload.review.commit_id = null;
    const [signal] = signalsOf(signalsFromGithubEvent('pull_request_review', payload, DELIVERY));
    expect(signal).toMatchObject({ status: 'pass', summary: 'LGTM', attributes: { repo: 'codertocat/hello-world', pr: 2 } });
    expect(signal!.attributes).not.toHaveProperty('sha');
  });

  it('ignores edits and dismissals', () => {
    for (const action of ['edited', 'dismissed']) {
      const payload = submitted('approved', 'ok');
      payload.action = action;
      expect(signalsFromGithubEvent('pull_request_review', payload, DELIVERY)).toMatchObject({ kind: 'ignored' });
    }
  });
});

describe('signalsFromGithubEvent: other events', () => {
  it('answers every real ping', () => {
    const pings = examplesOf('ping');
    expect(pings.length).toBeGreaterThan(0);
    for (const payload of pings) expect(signalsFromGithubEvent('ping', payload, DELIVERY)).toEqual({ kind: 'ping' });
  });

  it('ignores every other real event, naming it', () => {
    const handled = new Set(['ping', 'check_suite', 'workflow_run', 'pull_request_review']);
    const others = definitions.filter((d) => !handled.has(d.name));
    expect(others.map((d) => d.name)).toEqual(expect.arrayContaining(['push', 'pull_request', 'check_run', 'status']));
    for (const definition of others) {
      for (const payload of definition.examples) {
        expect(signalsFromGithubEvent(definition.name, payload, DELIVERY)).toEqual({
          kind: 'ignored',
          reason: `event "${definition.name}" is not one Arbor acts on`,
        });
      }
    }
  });
});

describe('verifyGithubSignature', () => {
  const SECRET = 'current-webhook-secret-0123456789';
  const OLD = 'previous-webhook-secret-9876543210';
  const body = '{"action":"submitted","review":{"body":"Änderungen nötig — ✗ 修正"}}';
  const bytes = new TextEncoder().encode(body);

  it('accepts the signature GitHub computes over the raw bytes (checked against Octokit’s own signer)', async () => {
    const header = await sign(SECRET, body);
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyGithubSignature(bytes, header, [SECRET])).toBe(true);
    expect(verifyGithubSignature(bytes, header.toUpperCase().replace('SHA256=', 'sha256='), [SECRET])).toBe(true);
  });

  it('refuses a wrong secret, a changed body, and bytes re-serialized from the parsed JSON', async () => {
    const header = await sign(SECRET, body);
    expect(verifyGithubSignature(bytes, header, ['some-other-secret-000000000'])).toBe(false);
    expect(verifyGithubSignature(new TextEncoder().encode(body.replace('nötig', 'notig')), header, [SECRET])).toBe(false);
    // The same JSON, laid out differently: the signature is over bytes, not meaning.
    const spaced = JSON.stringify(JSON.parse(body), null, 2);
    expect(verifyGithubSignature(new TextEncoder().encode(spaced), header, [SECRET])).toBe(false);
  });

  it('accepts the old secret while it is configured, and only then', async () => {
    const header = await sign(OLD, body);
    expect(verifyGithubSignature(bytes, header, [SECRET, OLD])).toBe(true);
    expect(verifyGithubSignature(bytes, header, [SECRET])).toBe(false);
    expect(verifyGithubSignature(bytes, await sign(SECRET, body), [SECRET, OLD])).toBe(true);
  });

  it('refuses a header without the sha256= prefix, of another algorithm, or of another length', async () => {
    const header = await sign(SECRET, body);
    const hex = header.slice('sha256='.length);
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(bytes).digest('hex')}`;
    for (const bad of [hex, `sha512=${hex}`, sha1, header.slice(0, -2), `${header}00`, `${header}0`, 'sha256=', '', undefined]) {
      expect(verifyGithubSignature(bytes, bad, [SECRET])).toBe(false);
    }
    expect(verifyGithubSignature(bytes, `sha256=${'z'.repeat(64)}`, [SECRET])).toBe(false);
  });

  it('never accepts anything without a secret, nor with an empty one', () => {
    const emptyKey = `sha256=${createHmac('sha256', '').update(bytes).digest('hex')}`;
    expect(verifyGithubSignature(bytes, emptyKey, [])).toBe(false);
    expect(verifyGithubSignature(bytes, emptyKey, [''])).toBe(false);
  });
});
