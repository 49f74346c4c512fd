import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WorktreeManager } from '../../server/sessions/worktrees.js';
import { withMergeSlot } from '../../server/store/goal-lanes.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo, git } from '../support/git-repo.js';
import { createGoal, waitFor } from '../support/orchestration.js';

/**
 * Two instances (each its own worktree manager, as on two machines sharing a
 * repository) merging spawned branches into one goal branch at the same
 * moment: the goal's merge slot in Postgres puts one after the other, and
 * both merges land, each on the tip the other left.
 */

let database: TestDatabase;
let tmp: string;
beforeAll(async () => {
  database = await createTestDatabase();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'arbor-goal-merges-'));
});
afterAll(async () => {
  await database.destroy();
  await rm(tmp, { recursive: true, force: true });
});

async function advisoryWaiters(): Promise<number> {
  const result = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = current_database()`.execute(database.db);
  return result.rows[0]!.n;
}

it('two instances merging into one goal branch at the same moment: one waits for the other, both land', async () => {
  const repo = await createGitRepo({ parent: tmp });
  const goalId = (await createGoal(database.db, [{ key: 'a', title: 'A' }])).goal.id;
  const instances = [0, 1].map((i) => new WorktreeManager({ root: path.join(tmp, `instance-${i}`), env: process.env }));
  const { branch } = await instances[0]!.ensureGoalBranch(repo.path, { id: goalId, title: 'Merges', baseRef: 'main', branch: null });
  const tasks = await Promise.all(
    instances.map(async (manager, i) => {
      const place = await manager.spawnWorktree(repo.path, { id: goalId, branch }, `t${i}`, randomUUID());
      writeFileSync(path.join(place.path, `t${i}.txt`), `${i}\n`);
      return { place, head: (await manager.commitLeftovers(place.path, `task ${i}`))! };
    }),
  );

  let firstReady!: () => void;
  const firstInSlot = new Promise<void>((resolve) => (firstReady = resolve));
  let letFirstGo!: () => void;
  const firstMayPublish = new Promise<void>((resolve) => (letFirstGo = resolve));
  const first = withMergeSlot(database.db, goalId, () =>
    instances[0]!.mergeTaskBranch(repo.path, branch, tasks[0]!.place.branch, 'merge t0', {
      beforePublish: async () => {
        firstReady();
        await firstMayPublish;
      },
    }),
  );
  await firstInSlot;
  // The second instance's merge starts while the first holds the slot with its merge made but not published.
  const second = withMergeSlot(database.db, goalId, () => instances[1]!.mergeTaskBranch(repo.path, branch, tasks[1]!.place.branch, 'merge t1'));
  await waitFor('the second merge to wait for the slot', async () => (await advisoryWaiters()) === 1);
  letFirstGo();

  const [a, b] = await Promise.all([first, second]);
  expect(a).toMatchObject({ kind: 'merged', previous: repo.initial, tries: 1 });
  // It merged on the first's merge, at its first try: it never computed on a tip about to move.
  expect(b).toMatchObject({ kind: 'merged', previous: (a as { sha: string }).sha, tries: 1 });
  const tip = git(repo.path, 'rev-parse', branch);
  expect(tip).toBe((b as { sha: string }).sha);
  for (const t of tasks) expect(git(repo.path, 'merge-base', '--is-ancestor', t.head, tip)).toBe('');
});
