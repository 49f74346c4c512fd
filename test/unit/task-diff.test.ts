import { describe, expect, it } from 'vitest';
import { cutPatch, diffRange, parseDiffFiles, type DiffFacts } from '../../server/domain/task-diff.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('parseDiffFiles', () => {
  it('reads every status, renames by their new path, binary files as such', () => {
    const nameStatus = ['M', 'src/a.ts', 'A', 'b b.txt', 'D', 'gone', 'R087', 'old/x', 'new/x', 'A', 'logo.png', ''].join('\0');
    const numstat = ['3\t1\tsrc/a.ts', '2\t0\tb b.txt', '0\t4\tgone', '1\t1\t', 'old/x', 'new/x', '-\t-\tlogo.png', ''].join('\0');
    expect(parseDiffFiles(nameStatus, numstat)).toEqual([
      { path: 'src/a.ts', old_path: null, status: 'modified', additions: 3, deletions: 1, binary: false },
      { path: 'b b.txt', old_path: null, status: 'added', additions: 2, deletions: 0, binary: false },
      { path: 'gone', old_path: null, status: 'deleted', additions: 0, deletions: 4, binary: false },
      { path: 'new/x', old_path: 'old/x', status: 'renamed', additions: 1, deletions: 1, binary: false },
      { path: 'logo.png', old_path: null, status: 'added', additions: 0, deletions: 0, binary: true },
    ]);
    expect(parseDiffFiles('', '')).toEqual([]);
  });
});

describe('cutPatch', () => {
  it('ends a cut patch at a whole line', () => {
    expect(cutPatch('+a\n+b\n+partial', true)).toBe('+a\n+b\n');
    expect(cutPatch('+partial', true)).toBe('');
    expect(cutPatch('+a\n+whole', false)).toBe('+a\n+whole');
  });
});

describe('diffRange', () => {
  const facts = (over: Partial<DiffFacts>): DiffFacts => ({ route: 'spawned', running: false, result: null, runBases: [], sessions: [], goalBranch: 'g', ...over });

  it('a task that never ran has no branch and nothing to compare', () => {
    expect(diffRange(facts({}))).toEqual({ branch: null, base: null, readBranch: false, recordedHead: null });
    expect(diffRange(facts({ route: 'pinned' }))).toEqual({ branch: null, base: null, readBranch: false, recordedHead: null });
  });

  it('spawned: its branch from where its first run started, the recorded head standing in once the branch is gone', () => {
    const range = diffRange(facts({ runBases: [A, B], sessions: [{ branch: 'g--t', baseSha: A }, { branch: 'g--t', baseSha: B }], result: { head: C, base: B } }));
    expect(range).toEqual({ branch: 'g--t', base: A, readBranch: true, recordedHead: C });
  });

  it('falls back to the oldest session, then the result, for runs recorded before runs were', () => {
    expect(diffRange(facts({ sessions: [{ branch: 'g--t', baseSha: A }, { branch: 'g--t', baseSha: B }] })).base).toBe(A);
    expect(diffRange(facts({ result: { branch: 'g--t', base: B, head: C } }))).toEqual({ branch: 'g--t', base: B, readBranch: true, recordedHead: C });
  });

  it('pinned: the recorded head once finished, the goal branch tip while running', () => {
    const sessions = [{ branch: 'g', baseSha: A }];
    expect(diffRange(facts({ route: 'pinned', runBases: [B], sessions, result: { branch: 'g', head: C } }))).toEqual({ branch: 'g', base: B, readBranch: false, recordedHead: C });
    expect(diffRange(facts({ route: 'pinned', running: true, runBases: [B], sessions, result: { branch: 'g', head: C } }))).toEqual({ branch: 'g', base: B, readBranch: true, recordedHead: null });
  });

  it('never hands git something that is not a sha', () => {
    expect(diffRange(facts({ runBases: ['--output=/etc/x'], result: { head: '-p', base: 'HEAD~1' } }))).toMatchObject({ base: null, recordedHead: null });
  });
});
