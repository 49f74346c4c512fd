import { describe, expect, it } from 'vitest';
import { pullRequestFor, pullRequestHead } from '../../server/domain/pull-request-request.js';

const request = { base: 'main', title: 'T' };

describe('pullRequestFor', () => {
  it("takes the task's own request before the goal's, and none when neither asks", () => {
    const own = { ...request, title: 'own' };
    expect(pullRequestFor({ pull_request: own }, { pull_request: request })).toEqual({ request: own, scope: 'task' });
    expect(pullRequestFor({}, { pull_request: request })).toEqual({ request, scope: 'goal' });
    expect(pullRequestFor({}, {})).toBeNull();
    expect(pullRequestFor(null, null)).toBeNull();
  });
});

describe('pullRequestHead', () => {
  it('uses the head the request names, whatever the scope', () => {
    expect(pullRequestHead({ ...request, head: 'feature' }, 'goal', { branch: 'b', goal_branch: 'g' }, 'g')).toBe('feature');
  });
  it("opens a task's pull request from the run's branch", () => {
    expect(pullRequestHead(request, 'task', { branch: 'arbor/x--api', goal_branch: 'arbor/x' }, 'arbor/x')).toBe('arbor/x--api');
    expect(pullRequestHead(request, 'task', {}, 'arbor/x')).toBe('arbor/x');
  });
  it("opens the goal's pull request from the goal branch, which a spawned run's branch was merged into", () => {
    expect(pullRequestHead(request, 'goal', { branch: 'arbor/x--api', goal_branch: 'arbor/x' }, null)).toBe('arbor/x');
    expect(pullRequestHead(request, 'goal', { branch: 'arbor/x--api' }, 'arbor/x')).toBe('arbor/x');
    // A pinned run's branch is the goal branch itself.
    expect(pullRequestHead(request, 'goal', { branch: 'arbor/x' }, null)).toBe('arbor/x');
    expect(pullRequestHead(request, 'goal', {}, null)).toBeNull();
  });
});
