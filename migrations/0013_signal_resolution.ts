import { sql, type Kysely } from 'kysely';

/**
 * A resolve in two statements instead of a dozen round trips.
 *
 * arbor_signal_arrive: takes the match-key locks (in the order given: sorted),
 * stores the signal (or finds the first one with its idempotency key), locks
 * the waiting gates filed under its keys, holds the other keys of each, and
 * returns each gate with the signals it is decided from. Deciding stays in
 * the application (server/domain/signal-rules.ts).
 *
 * arbor_signal_apply: the decisions that let gates pass — the gate succeeds
 * if still waiting, its dependents are released, groups and the goal roll up
 * — the signal's matches are recorded, and the events (those the application
 * wrote for other decisions, then these, then `signal.received`) are
 * appended with one NOTIFY. The same statements as store/tree-propagation.ts
 * issues one by one, in the same order, under the same locks.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION arbor_signal_arrive(
      p_lock_class int, p_keys text[], p_id uuid, p_type text, p_attributes jsonb, p_status text,
      p_summary text, p_artifacts jsonb, p_idempotency_key text, p_source text)
    RETURNS jsonb LANGUAGE plpgsql AS $fn$
    DECLARE
      v_key text;
      v_held text[] := p_keys;
      v_first record;
      v_gate record;
      v_gate_keys text[];
      v_gates jsonb := '[]'::jsonb;
    BEGIN
      FOREACH v_key IN ARRAY p_keys LOOP
        PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(v_key));
      END LOOP;

      INSERT INTO signals (id, type, attributes, match_keys, status, summary, artifacts, idempotency_key, source)
      VALUES (p_id, p_type, p_attributes, p_keys, p_status, p_summary, p_artifacts, p_idempotency_key, p_source)
      ON CONFLICT (source, idempotency_key) DO NOTHING;
      IF NOT FOUND THEN
        SELECT s.id, s.matched_task_ids INTO v_first FROM signals s
        WHERE s.source = p_source AND s.idempotency_key = p_idempotency_key;
        RETURN jsonb_build_object('duplicate', true, 'signalId', v_first.id, 'matched', to_jsonb(v_first.matched_task_ids));
      END IF;

      FOR v_gate IN
        SELECT t.id, t.goal_id, t.parent_id, t.kind, coalesce(t.gate_bound, t.gate) AS gate, t.rework_count FROM tasks t
        WHERE t.id IN (SELECT task_id FROM task_gate_keys WHERE match_key = ANY(p_keys)) AND t.status = 'waiting'
        ORDER BY t.id
        FOR UPDATE OF t
      LOOP
        -- Other parts of a compound gate may live under other keys: hold those
        -- too before reading its signals (out of sorted order: a rare deadlock
        -- with another compound resolve is possible, and the caller retries it).
        v_gate_keys := ARRAY(SELECT match_key FROM task_gate_keys WHERE task_id = v_gate.id ORDER BY match_key);
        FOREACH v_key IN ARRAY v_gate_keys LOOP
          IF NOT v_key = ANY(v_held) THEN
            PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(v_key));
            v_held := v_held || v_key;
          END IF;
        END LOOP;
        v_gates := v_gates || jsonb_build_object(
          'id', v_gate.id, 'goalId', v_gate.goal_id, 'parentId', v_gate.parent_id, 'kind', v_gate.kind,
          'gate', v_gate.gate, 'reworkCount', v_gate.rework_count,
          'signals', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                     'id', s.id, 'type', s.type, 'attributes', s.attributes, 'status', s.status,
                     'summary', s.summary, 'artifacts', s.artifacts, 'receivedAt', s.received_at)
                     ORDER BY s.received_at DESC, s.id DESC), '[]'::jsonb)
            FROM (SELECT * FROM signals
                  WHERE match_keys && v_gate_keys
                    AND received_at > coalesce((SELECT gate_armed_at FROM tasks WHERE id = v_gate.id), '-infinity')
                  ORDER BY received_at DESC, id DESC
                  LIMIT 500) s));
      END LOOP;
      RETURN jsonb_build_object('duplicate', false, 'signalId', p_id, 'gates', v_gates);
    END
    $fn$`.execute(db);

  await sql`
    CREATE FUNCTION arbor_signal_apply(
      p_channel text, p_signal_id uuid, p_matched uuid[], p_passes jsonb, p_events jsonb, p_received jsonb)
    RETURNS void LANGUAGE plpgsql AS $fn$
    DECLARE
      v_pass jsonb;
      v_task record;
      v_goal uuid;
      v_others uuid[];
      v_ids uuid[];
      v_parents uuid[];
      v_new jsonb;
      v_events jsonb := '[]'::jsonb;
      v_last bigint;
    BEGIN
      FOR v_pass IN SELECT value FROM jsonb_array_elements(p_passes) LOOP
        -- The other signals that decided the gate record the match too.
        v_others := ARRAY(SELECT jsonb_array_elements_text(v_pass->'others'))::uuid[];
        IF cardinality(v_others) > 0 THEN
          UPDATE signals SET matched_task_ids = ARRAY(SELECT DISTINCT unnest(matched_task_ids || (v_pass->>'id')::uuid))
          WHERE id = ANY(v_others);
        END IF;

        UPDATE tasks SET status = 'succeeded', result = v_pass->'result', error = NULL, gate_deadline = NULL,
                         finished_at = now(), updated_at = now()
        WHERE id = (v_pass->>'id')::uuid AND status = 'waiting'
        RETURNING id, goal_id, parent_id INTO v_task;
        CONTINUE WHEN NOT FOUND;
        v_events := v_events || jsonb_build_object('type', 'task.status_changed', 'goalId', v_task.goal_id,
          'taskId', v_task.id, 'data', jsonb_build_object('from', 'waiting', 'to', 'succeeded'));

        -- Dependents released, groups whose children are all done succeed in turn (level by level).
        v_ids := ARRAY[v_task.id];
        v_parents := ARRAY[v_task.parent_id];
        LOOP
          UPDATE tasks t SET unmet_deps = t.unmet_deps - x.n, updated_at = now()
          FROM (SELECT task_id, count(*)::int AS n FROM task_dependencies
                WHERE depends_on_id = ANY(v_ids) GROUP BY task_id) x
          WHERE t.id = x.task_id;
          v_parents := ARRAY(SELECT DISTINCT p FROM unnest(v_parents) p WHERE p IS NOT NULL ORDER BY p);
          EXIT WHEN cardinality(v_parents) = 0;
          PERFORM 1 FROM tasks WHERE id = ANY(v_parents) ORDER BY id FOR NO KEY UPDATE;
          WITH g AS (
            UPDATE tasks p SET status = 'succeeded', finished_at = now(), updated_at = now()
            WHERE p.id = ANY(v_parents) AND p.kind = 'group' AND p.status IN ('pending', 'running')
              AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = p.id AND c.status NOT IN ('succeeded', 'skipped'))
            RETURNING p.id, p.goal_id, p.parent_id)
          SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(parent_id), '{}'),
                 coalesce(jsonb_agg(jsonb_build_object('type', 'task.status_changed', 'goalId', goal_id, 'taskId', id,
                                    'data', jsonb_build_object('from', 'running', 'to', 'succeeded'))), '[]'::jsonb)
          INTO v_ids, v_parents, v_new FROM g;
          v_events := v_events || v_new;
          EXIT WHEN cardinality(v_ids) = 0;
        END LOOP;

        -- The goal, once every task succeeded or was skipped (locked first: see tree-propagation.ts).
        PERFORM 1 FROM goals WHERE id = v_task.goal_id FOR NO KEY UPDATE;
        UPDATE goals g SET status = 'succeeded', finished_at = now(), updated_at = now()
        WHERE g.id = v_task.goal_id AND g.status IN ('pending', 'running', 'paused')
          AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.goal_id = g.id AND t.status NOT IN ('succeeded', 'skipped'))
        RETURNING g.id INTO v_goal;
        IF FOUND THEN
          v_events := v_events || jsonb_build_object('type', 'goal.status_changed', 'goalId', v_goal,
            'data', jsonb_build_object('to', 'succeeded'));
        END IF;
      END LOOP;

      UPDATE signals SET matched_task_ids = p_matched WHERE id = p_signal_id;

      WITH inserted AS (
        INSERT INTO events (type, goal_id, task_id, session_id, signal_id, data)
        SELECT e->>'type', (e->>'goalId')::uuid, (e->>'taskId')::uuid, (e->>'sessionId')::uuid, (e->>'signalId')::uuid,
               coalesce(e->'data', '{}'::jsonb)
        FROM jsonb_array_elements(p_events || v_events || jsonb_build_array(p_received)) WITH ORDINALITY AS x(e, n)
        ORDER BY n
        RETURNING id)
      SELECT max(id) INTO v_last FROM inserted;
      PERFORM pg_notify(p_channel, v_last::text);
    END
    $fn$`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
