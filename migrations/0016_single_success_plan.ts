import { sql, type Kysely } from 'kysely';

/**
 * A chain's hop records one success: that now runs a cached plan that finds
 * the task by its primary key, and only a batch is planned for each call.
 *
 * Migration 0014 made every statement of arbor_complete_successes plan per
 * call, because a cached generic plan recorded a batch of 500 by scanning
 * every running task once per success. But planning the statement cost
 * 0.33-0.37 ms, a sixth of the time a hop spends in Postgres (counted with
 * track_functions over 11,132 hops: 0.95 of 2.07 ms in this function). The
 * batch keeps its plan made per call, now through EXECUTE (dynamic SQL is
 * never cached); the single success is a static statement whose generic plan
 * is right by construction: `t.id = p_ids[1]` on the primary key. Its
 * "unfinished children" check is one row joined once, not a subquery the
 * planner repeated for each CASE that reads it.
 *
 * The rest of the body is 0012's, restated: a function is replaced whole.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION arbor_complete_successes(p_owner text, p_ids uuid[], p_attempts int[], p_results jsonb[],
      OUT applied uuid[], OUT events jsonb, OUT holds_ready boolean)
    LANGUAGE plpgsql AS $$
    DECLARE
      -- The runs recorded, as {id, goal_id, parent_id, status, attempt}: both ways of recording end here.
      v_finished jsonb;
      v_done uuid[];
      v_done_parents uuid[];
      v_held uuid[];
      v_held_events jsonb;
      v_released record;
      v_ready boolean;
    BEGIN
      IF cardinality(p_ids) = 1 THEN
        WITH finished AS (
          UPDATE tasks t SET
            status = CASE WHEN h.held THEN 'running' WHEN t.requires_approval THEN 'review' ELSE 'succeeded' END,
            kind = CASE WHEN h.held THEN 'group' ELSE t.kind END,
            result = p_results[1], error = NULL, lease_owner = NULL, lease_expires_at = NULL,
            finished_at = CASE WHEN h.held OR t.requires_approval THEN NULL ELSE now() END, updated_at = now()
          FROM (SELECT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = p_ids[1] AND c.status NOT IN ('succeeded', 'skipped')) AS held) h
          WHERE t.id = p_ids[1] AND t.status = 'running' AND t.lease_owner = p_owner AND t.attempt = p_attempts[1]
          RETURNING t.id, t.goal_id, t.parent_id, t.status, t.attempt)
        SELECT coalesce(jsonb_agg(to_jsonb(finished)), '[]') INTO v_finished FROM finished;
      ELSE
        EXECUTE $batch$
          WITH finished AS (
            UPDATE tasks t SET
              status = CASE WHEN h.held THEN 'running' WHEN t.requires_approval THEN 'review' ELSE 'succeeded' END,
              kind = CASE WHEN h.held THEN 'group' ELSE t.kind END,
              result = v.result, error = NULL, lease_owner = NULL, lease_expires_at = NULL,
              finished_at = CASE WHEN h.held OR t.requires_approval THEN NULL ELSE now() END, updated_at = now()
            FROM unnest($2, $3, $4) AS v(id, attempt, result)
            CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = v.id AND c.status NOT IN ('succeeded', 'skipped')) AS held) h
            WHERE t.id = v.id AND t.status = 'running' AND t.lease_owner = $1 AND t.attempt = v.attempt
            RETURNING t.id, t.goal_id, t.parent_id, t.status, t.attempt)
          SELECT coalesce(jsonb_agg(to_jsonb(finished)), '[]') FROM finished
        $batch$
        INTO v_finished
        USING p_owner, p_ids, p_attempts, p_results;
      END IF;

      SELECT coalesce(array_agg(id), '{}'),
             coalesce(jsonb_agg(arbor_task_event(goal_id, id, 'running', status, jsonb_build_object('attempt', attempt))) FILTER (WHERE status <> 'running'), '[]'),
             coalesce(array_agg(id) FILTER (WHERE status = 'succeeded'), '{}'),
             coalesce(array_agg(parent_id) FILTER (WHERE status = 'succeeded'), '{}'),
             coalesce(array_agg(id) FILTER (WHERE status = 'running'), '{}'),
             coalesce(jsonb_agg(arbor_task_event(goal_id, id, 'running', 'running', '{"waiting_for": "subtasks"}')) FILTER (WHERE status = 'running'), '[]')
      INTO applied, events, v_done, v_done_parents, v_held, v_held_events
      FROM jsonb_to_recordset(v_finished) AS f(id uuid, goal_id uuid, parent_id uuid, status text, attempt int);

      SELECT * INTO v_released FROM arbor_release_dependents(v_done, v_done_parents);
      events := events || v_released.events;
      holds_ready := v_released.holds_ready;

      IF cardinality(v_held) > 0 THEN
        -- Everything under these tasks was added by their own runs and is still pending: nothing under
        -- a task runs before its run succeeds. (Unfinished, so the walk uses the index of unfinished children.)
        WITH RECURSIVE below AS (
          SELECT id FROM tasks WHERE parent_id = ANY(v_held) AND status NOT IN ('succeeded', 'skipped')
          UNION ALL
          SELECT t.id FROM tasks t JOIN below b ON t.parent_id = b.id AND t.status NOT IN ('succeeded', 'skipped')
        ), unheld AS (
          UPDATE tasks t SET unmet_deps = t.unmet_deps - 1, updated_at = now()
          WHERE t.id IN (SELECT id FROM below) AND t.status = 'pending' AND t.unmet_deps > 0
          RETURNING (t.kind <> 'agent' AND t.unmet_deps = 0) AS ready)
        SELECT coalesce(bool_or(ready), false) INTO v_ready FROM unheld;
        holds_ready := holds_ready OR v_ready;
        events := events || v_held_events;
      END IF;
    END $$`.execute(db);
  // The plan per call that 0014 set for the whole function: now only the batch's EXECUTE has it.
  await sql`ALTER FUNCTION arbor_complete_successes(text, uuid[], int[], jsonb[]) RESET plan_cache_mode`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
