import { describe, expect, it } from 'vitest';
import { planGoalTree } from '../../server/domain/goal-tree.js';
import { githubRepoOf, pullRequestRequestOf } from '../../server/domain/pull-request-request.js';

describe('githubRepoOf', () => {
  it('reads owner/name from https, ssh and scp-like clone URLs, and nothing from a local path', () => {
    expect(githubRepoOf('https://github.com/acme/web.git')).toBe('acme/web');
    expect(githubRepoOf('https://x-access-token:t@github.example.com/acme/web')).toBe('acme/web');
    expect(githubRepoOf('git@github.com:acme/web.git')).toBe('acme/web');
    expect(githubRepoOf('ssh://git@github.com/acme/web.git')).toBe('acme/web');
    expect(githubRepoOf('/srv/repos/web')).toBeNull();
  });
});

describe('pull_request on a task', () => {
  const plan = (pull_request: unknown, kind?: 'agent' | 'human_review') =>
    planGoalTree([{ key: 'implement', title: 'I', kind, pull_request: pull_request as never }], 'sequential', { maxTasks: 10, maxDepth: 4 });

  it('is kept in the task metadata, where the runner reads it back', () => {
    const planned = plan({ base: 'main', title: 'Add it', draft: true });
    expect(planned.ok && planned.tasks[0]!.metadata).toEqual({ pull_request: { base: 'main', title: 'Add it', draft: true } });
    expect(pullRequestRequestOf(planned.ok ? planned.tasks[0]!.metadata : {})).toEqual({ base: 'main', title: 'Add it', draft: true });
    expect(pullRequestRequestOf({})).toBeNull();
  });

  it('is refused without a base or a title, with unknown fields, and on a task that is not agent work', () => {
    expect(plan({ title: 'x' })).toMatchObject({ ok: false, errors: [{ message: expect.stringMatching(/^pull_request: base/) }] });
    expect(plan({ base: 'main', title: 'x', labels: [] })).toMatchObject({ ok: false });
    expect(plan({ base: 'main', title: 'x' }, 'human_review')).toMatchObject({ ok: false, errors: [{ message: 'pull_request is only for agent tasks' }] });
  });
});
