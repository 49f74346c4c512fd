import { afterAll, afterEach, beforeAll } from 'vitest';
import { applyGoalCommand } from '../../server/store/goals.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { GithubStub } from './github-stub/github-stub.js';

/**
 * For a test file of CI gates against the GitHub stub: its own database and a
 * stub that accepts `token`; after each test, what it started (orchestrators,
 * sweeps) is stopped and goals still open are cancelled.
 */
export function useGithubCiHarness(token: string) {
  const harness = {
    database: undefined as unknown as TestDatabase,
    stub: undefined as unknown as GithubStub,
    /** Things to stop after the test. */
    started: [] as { stop(): Promise<void> }[],
  };
  beforeAll(async () => {
    harness.database = await createTestDatabase();
    harness.stub = await new GithubStub(token).start();
  });
  afterEach(async () => {
    await Promise.all(harness.started.splice(0).map((s) => s.stop()));
    const { db } = harness.database;
    const open = await db.selectFrom('goals').select('id').where('status', 'in', ['pending', 'running']).execute();
    for (const goal of open) await applyGoalCommand(db, goal.id, 'cancel');
  });
  afterAll(async () => {
    await harness.stub?.stop();
    await harness.database?.destroy();
  });
  return harness;
}
