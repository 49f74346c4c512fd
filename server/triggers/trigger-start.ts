import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { inTransaction } from '../store/transactions.js';
import { getTemplate } from '../store/templates.js';
import { claimTriggerRun, getTriggerRun, recordTriggerRun, type TriggerRow } from '../store/triggers.js';
import { insertGoalRequest, type GoalRules } from '../goal-requests/goal-request.js';
import { goalFromTemplate } from '../templates/template-goals.js';
import type { ParameterValue } from '../templates/substitution.js';

export interface TriggerDeps {
  db: Db;
  rules: GoalRules;
  logger: Logger;
}

export type TriggerStart =
  | { outcome: 'started'; triggerId: string; slot: string; goalId: string }
  /** The slot was claimed before (by this or another instance): the goal it started, if it started one. */
  | { outcome: 'already'; triggerId: string; slot: string; goalId: string | null }
  /** The slot is claimed, but the template could not make a valid goal from what it was given. */
  | { outcome: 'failed'; triggerId: string; slot: string; error: string };

/**
 * One start of a trigger, under `slot` (a cron instant, a GitHub delivery).
 * The claim of the slot and the goal are one transaction: whoever claims the
 * slot first creates the goal, everyone after finds it; a crash in between
 * leaves neither, so the slot can still start.
 */
export async function startTrigger(
  deps: TriggerDeps,
  trigger: TriggerRow,
  slot: string,
  payloadParams: Record<string, ParameterValue> = {},
  /** Why the event cannot start a goal (its payload lacks a parameter): recorded on the slot. */
  refusal?: string,
): Promise<TriggerStart> {
  const { db, rules } = deps;
  const base = { triggerId: trigger.id, slot };
  const result = await inTransaction(db, async (trx): Promise<TriggerStart> => {
    if (!(await claimTriggerRun(trx, trigger.id, slot))) {
      const run = await getTriggerRun(trx, trigger.id, slot);
      return { ...base, outcome: 'already', goalId: run?.goalId ?? null };
    }
    if (refusal !== undefined) {
      await recordTriggerRun(trx, trigger.id, slot, { error: refusal });
      return { ...base, outcome: 'failed', error: refusal };
    }
    const template = await getTemplate(trx, trigger.templateName);
    // The foreign key keeps a trigger's template; only a concurrent delete ends here.
    if (!template) return { ...base, outcome: 'failed', error: `template "${trigger.templateName}" not found` };
    const made = goalFromTemplate(template, { ...trigger.params, ...payloadParams }, rules);
    if (!made.ok) {
      await recordTriggerRun(trx, trigger.id, slot, { error: made.message });
      return { ...base, outcome: 'failed', error: made.message };
    }
    const origin = { template: { name: template.name, params: made.values }, trigger: { id: trigger.id, slot } };
    const { goal } = await insertGoalRequest(trx, made, rules, origin);
    await recordTriggerRun(trx, trigger.id, slot, { goalId: goal.id });
    return { ...base, outcome: 'started', goalId: goal.id };
  });
  if (result.outcome === 'started') deps.logger.info(result, 'trigger started a goal');
  if (result.outcome === 'failed') deps.logger.warn(result, 'trigger could not start a goal');
  return result;
}
