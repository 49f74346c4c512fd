import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acquireLane,
  beginPinnedRun,
  endPinnedRun,
  laneHolder,
  releaseLane,
  renewLanes,
  withMergeSlot,
} from '../../server/store/goal-lanes.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGoal, waitFor } from '../support/orchestration.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.destroy());

const newGoal = async () => (await createGoal(database.db, [{ key: 'a', title: 'A' }])).goal.id;
const HOUR = 3_600_000;

/** Backends of this database waiting for an advisory lock. */
async function advisoryWaiters(): Promise<number> {
  const result = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = current_database()`.execute(database.db);
  return result.rows[0]!.n;
}

describe('a goal pinned lane held in the database', () => {
  it('two instances racing for one lane: exactly one gets it, the other is told who holds it', async () => {
    const goals = await Promise.all(Array.from({ length: 10 }, newGoal));
    for (const goalId of goals) {
      const [a, b] = await Promise.all([acquireLane(database.db, goalId, 'instance-a', HOUR), acquireLane(database.db, goalId, 'instance-b', HOUR)]);
      const winners = [a, b].filter((r) => r!.acquired);
      expect(winners).toHaveLength(1);
      const winner = a!.acquired ? 'instance-a' : 'instance-b';
      expect([a, b].find((r) => !r!.acquired)).toEqual({ acquired: false, holder: winner });
      expect((await laneHolder(database.db, goalId))?.holder).toBe(winner);
      // The holder acquiring again just renews.
      expect(await acquireLane(database.db, goalId, winner, HOUR)).toEqual({ acquired: true, takenOverFrom: null });
    }
  });

  it('a lane whose lease ran out is taken over by another instance, and the old holder can neither renew nor release it', async () => {
    const goalId = await newGoal();
    // Holders of their own: renewLanes counts every lane a holder has in this database.
    const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
    expect(await acquireLane(database.db, goalId, a, 1)).toEqual({ acquired: true, takenOverFrom: null });
    await waitFor('the lease to run out', async () => (await laneHolder(database.db, goalId))?.expired);
    expect(await beginPinnedRun(database.db, goalId, a, randomUUID())).toBe(false);

    expect(await acquireLane(database.db, goalId, b, HOUR)).toEqual({ acquired: true, takenOverFrom: a });
    expect(await renewLanes(database.db, a, HOUR)).toBe(0);
    expect(await releaseLane(database.db, goalId, a)).toBe(false);
    expect(await laneHolder(database.db, goalId)).toEqual({ holder: b, expired: false, runningTaskId: null });

    // A live, renewed lease is not taken.
    expect(await renewLanes(database.db, b, HOUR)).toBe(1);
    expect(await acquireLane(database.db, goalId, a, HOUR)).toEqual({ acquired: false, holder: b });
    expect(await releaseLane(database.db, goalId, b)).toBe(true);
    expect(await acquireLane(database.db, goalId, a, HOUR)).toEqual({ acquired: true, takenOverFrom: null });
  });

  it('a merge waits while a pinned run holds the lane, and goes ahead once it ends', async () => {
    const goalId = await newGoal();
    const taskId = randomUUID();
    await acquireLane(database.db, goalId, 'instance-a', HOUR);
    expect(await beginPinnedRun(database.db, goalId, 'instance-a', taskId)).toBe(true);

    const waitedFor: string[] = [];
    let merged = false;
    const merge = withMergeSlot(
      database.db,
      goalId,
      async () => {
        merged = true;
        return 'merged';
      },
      { pollMs: 10, onWait: (running) => waitedFor.push(running) },
    );
    await waitFor('the merge to find the lane busy', () => waitedFor.length > 0);
    expect(waitedFor[0]).toBe(taskId);
    expect(merged).toBe(false);

    await endPinnedRun(database.db, goalId, 'instance-a', taskId);
    expect(await merge).toBe('merged');
  });

  it('a pinned run cannot start while a merge holds the slot; it starts once the merge is done', async () => {
    const goalId = await newGoal();
    await acquireLane(database.db, goalId, 'instance-a', HOUR);
    let finishMerge!: () => void;
    const mergeMayFinish = new Promise<void>((resolve) => (finishMerge = resolve));
    let mergeStarted!: () => void;
    const inMerge = new Promise<void>((resolve) => (mergeStarted = resolve));
    const merge = withMergeSlot(database.db, goalId, async () => {
      mergeStarted();
      await mergeMayFinish;
    });
    await inMerge;

    let runStarted = false;
    const run = beginPinnedRun(database.db, goalId, 'instance-a', randomUUID()).then((ok) => {
      runStarted = true;
      return ok;
    });
    await waitFor('the pinned run to wait for the merge lock', async () => (await advisoryWaiters()) > 0);
    expect(runStarted).toBe(false);

    finishMerge();
    await merge;
    expect(await run).toBe(true);
  });

  it('a pinned run whose holder died (lease expired) does not hold merges back', async () => {
    const goalId = await newGoal();
    await acquireLane(database.db, goalId, 'instance-a', 300);
    expect(await beginPinnedRun(database.db, goalId, 'instance-a', randomUUID())).toBe(true);
    await waitFor('the lease to run out', async () => (await laneHolder(database.db, goalId))?.expired);
    expect(await withMergeSlot(database.db, goalId, async () => 'merged', { pollMs: 10 })).toBe('merged');
  });
});
