import { sql, type Kysely } from 'kysely';

/**
 * arbor_complete_successes plans its statements for the arrays it is given
 * (a custom plan), never with a cached generic one.
 *
 * A generic plan cannot see an array parameter: it guesses `unnest(p_ids)`
 * at ten rows, and with the statistics a burst leaves behind (a wide goal's
 * tasks just written, next to no running task on record) it recorded a
 * batch of 500 successes by scanning every running task once per success:
 * half a million comparisons, 95-105 ms a batch, two thirds of the time a
 * 10,000-task goal took to drain. With the array in view the planner looks
 * the tasks up by id. Only this function: planning anew costs every call a
 * little, and the claim's and roll-ups' plans did not go wrong this way.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER FUNCTION arbor_complete_successes(text, uuid[], int[], jsonb[]) SET plan_cache_mode = force_custom_plan`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
