import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { matchesFilters, paramsFromPayload, valueAt } from '../../server/triggers/github-match.js';

const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, any>[] }[];
const example = (event: string, action: string) => structuredClone(definitions.find((d) => d.name === event)!.examples.find((p) => p.action === action)!);

describe('matchesFilters', () => {
  const labeled = example('pull_request', 'labeled');

  it('passes an event that meets every filter given, and any event with none', () => {
    expect(matchesFilters({}, labeled)).toBe(true);
    expect(matchesFilters({ action: 'labeled', repository: 'CODERTOCAT/hello-world', label: 'bug' }, labeled)).toBe(true);
  });

  it('stops an event another action, repository or label', () => {
    expect(matchesFilters({ action: 'opened' }, labeled)).toBe(false);
    expect(matchesFilters({ repository: 'acme/web' }, labeled)).toBe(false);
    expect(matchesFilters({ label: 'enhancement' }, labeled)).toBe(false);
  });

  it('finds a label on the issue as well as the one just added', () => {
    const issue = example('issues', 'opened');
    issue.issue.labels = [{ name: 'shepherd' }];
    expect(matchesFilters({ label: 'shepherd' }, issue)).toBe(true);
    expect(matchesFilters({ label: 'shepherd' }, { action: 'opened' })).toBe(false);
    expect(matchesFilters({}, null)).toBe(false);
  });
});

describe('payload parameters', () => {
  it('reads dotted paths and refuses what is missing or not a plain value', () => {
    const opened = example('pull_request', 'opened');
    expect(valueAt(opened, 'pull_request.number')).toBe(opened.pull_request.number);
    expect(valueAt(opened, 'pull_request.nope.deeper')).toBeUndefined();
    expect(valueAt(opened, 'constructor')).toBeUndefined();
    expect(paramsFromPayload({ url: 'pull_request.html_url', n: 'number' }, opened)).toEqual({
      ok: true,
      values: { url: opened.pull_request.html_url, n: opened.number },
    });
    const result = paramsFromPayload({ head: 'pull_request.head', gone: 'pull_request.gone' }, opened);
    expect(result).toEqual({ ok: false, message: expect.stringContaining('head (pull_request.head), gone (pull_request.gone)') });
  });
});
