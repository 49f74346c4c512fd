import { listGithubTriggers } from '../store/triggers.js';
import { matchesFilters, paramsFromPayload, type GithubFilters } from './github-match.js';
import { startTrigger, type TriggerDeps, type TriggerStart } from './trigger-start.js';

/**
 * Starts the goal of every trigger a verified GitHub delivery matches: one
 * goal per trigger and delivery, so a redelivery finds the goal it started.
 * Never throws: a trigger that fails is logged, and the delivery's signals
 * are still applied by the webhook.
 */
export async function startGithubTriggers(
  deps: Omit<TriggerDeps, 'rules'> & { config: { goals: TriggerDeps['rules'] } },
  event: string,
  delivery: string,
  payload: unknown,
): Promise<TriggerStart[]> {
  const startDeps: TriggerDeps = { db: deps.db, logger: deps.logger, rules: deps.config.goals };
  const starts: TriggerStart[] = [];
  try {
    for (const trigger of await listGithubTriggers(deps.db, event)) {
      if (!matchesFilters(trigger.filters as GithubFilters, payload)) continue;
      const slot = `delivery:${delivery}`;
      const params = paramsFromPayload(trigger.paramsFrom, payload);
      try {
        starts.push(await startTrigger(startDeps, trigger, slot, params.ok ? params.values : {}, params.ok ? undefined : params.message));
      } catch (err) {
        deps.logger.error({ err, trigger: trigger.id, delivery }, 'github trigger failed');
      }
    }
  } catch (err) {
    deps.logger.error({ err, event, delivery }, 'github triggers could not be looked up');
  }
  return starts;
}
