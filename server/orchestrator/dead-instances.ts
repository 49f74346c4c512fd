import type { Db } from '../db/database.js';
import type { RetryPolicy } from '../domain/task-rules.js';
import { processIsAlive } from '../host/proc-stat.js';
import type { Logger } from '../logger.js';
import { reclaimTasksOf } from '../store/completion.js';
import { otherInstancesOnHost, removeInstances, removeSilentInstances } from '../store/instances.js';
import type { SessionRunner } from './session-runner.js';

/** An instance not heard from for a day is gone, wherever it ran. */
const SILENT_FOR_GOOD_MS = 24 * 3600 * 1000;

/**
 * Takes over the work of Arbor processes on this host that are gone (their
 * pid no longer runs), and at start that of this instance's own id from
 * before a restart: their agents are ended first, then their tasks are
 * retried at once instead of after the lease runs out. Instances on other
 * hosts cannot be asked by pid; their leases expire.
 */
export async function recoverDeadInstances(
  deps: { db: Db; runner: SessionRunner; logger: Logger },
  options: { instanceId: string; host: string; retry: RetryPolicy; startup: boolean },
): Promise<void> {
  if (options.startup) await removeSilentInstances(deps.db, SILENT_FOR_GOOD_MS);
  const others = await otherInstancesOnHost(deps.db, options.host, options.instanceId);
  const dead = others.filter((instance) => !processIsAlive(instance.pid, instance.pidStartedAt));
  const owners = [...(options.startup ? [options.instanceId] : []), ...dead.map((instance) => instance.id)];
  if (owners.length === 0) return;
  await deps.runner.recoverOrphans?.({ owners, startup: options.startup });
  const reclaimed = await reclaimTasksOf(deps.db, owners, options.retry);
  await removeInstances(deps.db, dead);
  if (reclaimed > 0 || dead.length > 0) {
    deps.logger.warn({ reclaimed, instances: owners }, 'took back the work of Arbor processes that went away');
  }
}
