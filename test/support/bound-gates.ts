import type { Db } from '../../server/db/database.js';
import type { TaskSpec } from '../../server/domain/goal-tree.js';
import { waitFor } from './orchestration.js';

/** implement -> ci (a gate taking its pull request {from} implement) -> deploy. */
export function implementCiDeploy(gate: Record<string, unknown> = { type: 'gh_ci', pr: { from: 'implement' } }): TaskSpec[] {
  return [
    { key: 'implement', title: 'Implement', instructions: 'Do it' },
    { key: 'ci', title: 'CI green', kind: 'wait_for_signal', gate },
    { key: 'deploy', title: 'Deploy', instructions: 'Ship' },
  ];
}

/** The gate's row once it waits after `reworkCount` reworks; a failed gate fails the wait with its error. */
export function gateWaitingAfter(db: Db, id: string, reworkCount: number) {
  return waitFor(`gate ${id} waiting after ${reworkCount} reworks`, async () => {
    const t = await db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    if (t.status === 'failed') throw new Error(`gate failed: ${t.error}`);
    return t.status === 'waiting' && t.reworkCount === reworkCount ? t : undefined;
  });
}
