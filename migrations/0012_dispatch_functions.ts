import { sql, type Kysely } from 'kysely';

/**
 * The hot path of dispatch as SQL functions: a task's success, what it
 * releases, the roll-ups, the next claim and the events of all of it run in
 * one statement — one round trip and one commit per hop instead of a dozen
 * statements. The functions are the only implementation: the store calls
 * them for every completion and claim, inside its own transactions too.
 *
 * Events are built as a jsonb array of {type, goal_id, task_id, data} in the
 * order the changes happen, and either returned (the caller appends them with
 * the rest of its transaction's) or appended here by arbor_dispatch.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // STABLE as jsonb_build_object is: so it is inlined into the statements that call it (declared
  // IMMUTABLE it would run as a function call per row, at a cost of a tenth of a millisecond each).
  await sql`
    CREATE FUNCTION arbor_task_event(p_goal_id uuid, p_task_id uuid, p_from text, p_to text, p_data jsonb)
    RETURNS jsonb LANGUAGE sql STABLE AS $$
      SELECT jsonb_build_object('type', 'task.status_changed', 'goal_id', p_goal_id, 'task_id', p_task_id,
        'data', jsonb_build_object('from', p_from, 'to', p_to) || p_data)
    $$`.execute(db);

  // Tasks that just succeeded: each dependent has one fewer unmet dependency,
  // and a group whose children are now all done succeeds in turn, level by level.
  await sql`
    CREATE FUNCTION arbor_release_dependents(p_ids uuid[], p_parent_ids uuid[], OUT events jsonb, OUT holds_ready boolean)
    LANGUAGE plpgsql AS $$
    DECLARE
      v_ids uuid[] := p_ids;
      v_parent_ids uuid[] := p_parent_ids;
      v_parents uuid[];
      v_ready boolean;
    BEGIN
      events := '[]';
      holds_ready := false;
      WHILE cardinality(v_ids) > 0 LOOP
        WITH released AS (
          UPDATE tasks t SET unmet_deps = t.unmet_deps - x.n, updated_at = now()
          FROM (SELECT task_id, count(*)::int AS n FROM task_dependencies
                WHERE depends_on_id = ANY(v_ids) GROUP BY task_id) x
          WHERE t.id = x.task_id
          RETURNING (t.kind <> 'agent' AND t.unmet_deps = 0) AS ready)
        SELECT coalesce(bool_or(ready), false) INTO v_ready FROM released;
        holds_ready := holds_ready OR v_ready;
        SELECT array_agg(DISTINCT p ORDER BY p) INTO v_parents FROM unnest(v_parent_ids) p WHERE p IS NOT NULL;
        EXIT WHEN v_parents IS NULL;
        -- Roll-ups ask "is anything else still unfinished?": two transactions finishing the last two
        -- children of one group would each see the other's child unfinished. Locking the parent first
        -- (in id order, so completions cannot deadlock) makes the second one look after the first's commit.
        PERFORM 1 FROM tasks WHERE id = ANY(v_parents) ORDER BY id FOR NO KEY UPDATE;
        WITH groups AS (
          UPDATE tasks p SET status = 'succeeded', finished_at = now(), updated_at = now()
          WHERE p.id = ANY(v_parents)
            AND p.kind = 'group' AND p.status IN ('pending', 'running')
            AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = p.id AND c.status NOT IN ('succeeded', 'skipped'))
          RETURNING p.id, p.goal_id, p.parent_id)
        SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(parent_id), '{}'),
               events || coalesce(jsonb_agg(arbor_task_event(goal_id, id, 'running', 'succeeded', '{}')), '[]')
        INTO v_ids, v_parent_ids, events FROM groups;
      END LOOP;
    END $$`.execute(db);

  // A goal succeeds when every one of its tasks succeeded or was skipped (locked first: the same race, one level up).
  await sql`
    CREATE FUNCTION arbor_roll_up_goals(p_goal_ids uuid[]) RETURNS jsonb LANGUAGE plpgsql AS $$
    DECLARE
      v_events jsonb;
    BEGIN
      IF coalesce(cardinality(p_goal_ids), 0) = 0 THEN RETURN '[]'; END IF;
      PERFORM 1 FROM goals WHERE id = ANY(p_goal_ids) ORDER BY id FOR NO KEY UPDATE;
      WITH done AS (
        UPDATE goals g SET status = 'succeeded', finished_at = now(), updated_at = now()
        WHERE g.id = ANY(p_goal_ids) AND g.status IN ('pending', 'running', 'paused')
          AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.goal_id = g.id AND t.status NOT IN ('succeeded', 'skipped'))
        RETURNING g.id)
      SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'goal.status_changed', 'goal_id', id, 'data', jsonb_build_object('to', 'succeeded'))), '[]')
      INTO v_events FROM done;
      RETURN v_events;
    END $$`.execute(db);

  // Successful runs, fenced by (running, lease owner, attempt). A run that added subtasks leaves its task
  // running as a group that finishes with its children; the hold on everything it added goes.
  await sql`
    CREATE FUNCTION arbor_complete_successes(p_owner text, p_ids uuid[], p_attempts int[], p_results jsonb[],
      OUT applied uuid[], OUT events jsonb, OUT holds_ready boolean)
    LANGUAGE plpgsql AS $$
    DECLARE
      v_done uuid[];
      v_done_parents uuid[];
      v_held uuid[];
      v_held_events jsonb;
      v_released record;
      v_ready boolean;
    BEGIN
      WITH finished AS (
        UPDATE tasks t SET
          status = CASE WHEN h.held THEN 'running' WHEN t.requires_approval THEN 'review' ELSE 'succeeded' END,
          kind = CASE WHEN h.held THEN 'group' ELSE t.kind END,
          result = v.result, error = NULL, lease_owner = NULL, lease_expires_at = NULL,
          finished_at = CASE WHEN h.held OR t.requires_approval THEN NULL ELSE now() END, updated_at = now()
        FROM unnest(p_ids, p_attempts, p_results) AS v(id, attempt, result)
        CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = v.id AND c.status NOT IN ('succeeded', 'skipped')) AS held) h
        WHERE t.id = v.id AND t.status = 'running' AND t.lease_owner = p_owner AND t.attempt = v.attempt
        RETURNING t.id, t.goal_id, t.parent_id, t.status, t.attempt)
      SELECT coalesce(array_agg(id), '{}'),
             coalesce(jsonb_agg(arbor_task_event(goal_id, id, 'running', status, jsonb_build_object('attempt', attempt))) FILTER (WHERE status <> 'running'), '[]'),
             coalesce(array_agg(id) FILTER (WHERE status = 'succeeded'), '{}'),
             coalesce(array_agg(parent_id) FILTER (WHERE status = 'succeeded'), '{}'),
             coalesce(array_agg(id) FILTER (WHERE status = 'running'), '{}'),
             coalesce(jsonb_agg(arbor_task_event(goal_id, id, 'running', 'running', '{"waiting_for": "subtasks"}')) FILTER (WHERE status = 'running'), '[]')
      INTO applied, events, v_done, v_done_parents, v_held, v_held_events
      FROM finished;

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

  // Claims up to p_capacity ready agent tasks for p_owner, goal by goal, respecting each goal's
  // max_parallel and its pinned lane (one pinned task at a time, and none while the lane is held by
  // another live instance). Candidates are found without locks; then their goals are locked in id
  // order (a stable count of what runs while we decide; claimers cannot deadlock), and the picked
  // tasks are taken with SKIP LOCKED and re-checked: two claimers never take the same task.
  await sql`
    CREATE FUNCTION arbor_claim(p_owner text, p_capacity int, p_spawn_budget int, p_lease_secs double precision,
      OUT claimed uuid[], OUT more boolean, OUT events jsonb)
    LANGUAGE plpgsql AS $$
    DECLARE
      v_window int := p_capacity * 4;
      v_cand_ids uuid[];
      v_cand_goals uuid[];
      v_cand_pinned boolean[];
      v_goal_ids uuid[];
      v_free int[];
      v_pinned_busy boolean[];
      v_picked uuid[] := '{}';
      v_budget int := p_spawn_budget;
      v_claimed_goals uuid[];
      i int;
      k int;
    BEGIN
      claimed := '{}';
      more := false;
      events := '[]';
      IF p_capacity <= 0 THEN RETURN; END IF;
      SELECT array_agg(id ORDER BY n), array_agg(goal_id ORDER BY n), array_agg(route = 'pinned' ORDER BY n), count(*) = v_window
      INTO v_cand_ids, v_cand_goals, v_cand_pinned, more
      FROM (
        SELECT c.id, c.goal_id, c.route, row_number() OVER (ORDER BY c.priority DESC, g.created_at, g.id, c.ordinal) AS n
        FROM goals g
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS running, (count(*) FILTER (WHERE route = 'pinned'))::int AS pinned
          FROM tasks WHERE goal_id = g.id AND status = 'running' AND kind = 'agent'
        ) b
        CROSS JOIN LATERAL (
          SELECT t.id, t.goal_id, t.route, t.priority, t.ordinal FROM tasks t
          WHERE t.goal_id = g.id AND t.status = 'pending' AND t.unmet_deps = 0 AND (t.not_before IS NULL OR t.not_before <= now())
            AND t.kind = 'agent'
            AND NOT (t.route = 'pinned' AND (b.pinned > 0 OR EXISTS (
              SELECT 1 FROM goal_lanes l WHERE l.goal_id = g.id AND l.holder <> p_owner AND l.expires_at > now())))
          ORDER BY t.priority DESC, t.ordinal
          LIMIT greatest(g.max_parallel - b.running, 0)
        ) c
        WHERE g.status IN ('pending', 'running') AND b.running < g.max_parallel
        ORDER BY c.priority DESC, g.created_at, g.id, c.ordinal
        LIMIT v_window
      ) found;
      IF v_cand_ids IS NULL THEN more := false; RETURN; END IF;

      SELECT array_agg(DISTINCT x ORDER BY x) INTO v_goal_ids FROM unnest(v_cand_goals) x;
      PERFORM 1 FROM goals WHERE id = ANY(v_goal_ids) ORDER BY id FOR NO KEY UPDATE;
      -- Under the locks: each open goal's free slots and whether its pinned lane is busy.
      SELECT array_agg(g.id ORDER BY g.id), array_agg(g.max_parallel - b.running ORDER BY g.id), array_agg(b.pinned > 0 ORDER BY g.id)
      INTO v_goal_ids, v_free, v_pinned_busy
      FROM goals g
      CROSS JOIN LATERAL (
        SELECT count(*)::int AS running, (count(*) FILTER (WHERE route = 'pinned'))::int AS pinned
        FROM tasks WHERE goal_id = g.id AND status = 'running' AND kind = 'agent'
      ) b
      WHERE g.id = ANY(v_goal_ids) AND g.status IN ('pending', 'running');
      IF v_goal_ids IS NULL THEN RETURN; END IF;

      FOR i IN 1 .. cardinality(v_cand_ids) LOOP
        EXIT WHEN cardinality(v_picked) >= p_capacity;
        k := array_position(v_goal_ids, v_cand_goals[i]);
        CONTINUE WHEN k IS NULL OR v_free[k] <= 0;
        IF v_cand_pinned[i] THEN
          CONTINUE WHEN v_pinned_busy[k];
          v_pinned_busy[k] := true;
        ELSE
          CONTINUE WHEN v_budget <= 0;
          v_budget := v_budget - 1;
        END IF;
        v_free[k] := v_free[k] - 1;
        v_picked := v_picked || v_cand_ids[i];
      END LOOP;
      IF cardinality(v_picked) = 0 THEN RETURN; END IF;

      -- Taken only if still ready and nobody else holds it: a task another claimer got first is
      -- skipped (this claim takes fewer), never waited on.
      WITH taken AS (
        UPDATE tasks SET status = 'running', attempt = attempt + 1, lease_owner = p_owner,
          lease_expires_at = now() + make_interval(secs => p_lease_secs),
          started_at = coalesce(started_at, now()), not_before = NULL, updated_at = now()
        WHERE id IN (SELECT t.id FROM tasks t WHERE t.id = ANY(v_picked)
                       AND t.status = 'pending' AND t.unmet_deps = 0 AND (t.not_before IS NULL OR t.not_before <= now())
                     FOR UPDATE SKIP LOCKED)
        RETURNING id, goal_id, attempt, route)
      SELECT coalesce(array_agg(id), '{}'), array_agg(DISTINCT goal_id),
             coalesce(jsonb_agg(arbor_task_event(goal_id, id, 'pending', 'running',
               jsonb_build_object('attempt', attempt, 'owner', p_owner, 'route', route))), '[]')
      INTO claimed, v_claimed_goals, events FROM taken;

      -- A goal is pending until the first of its tasks moves.
      IF v_claimed_goals IS NOT NULL THEN
        WITH started AS (
          UPDATE goals SET status = 'running', started_at = now(), updated_at = now()
          WHERE id = ANY(v_claimed_goals) AND status = 'pending'
          RETURNING id)
        SELECT events || coalesce(jsonb_agg(jsonb_build_object('type', 'goal.status_changed', 'goal_id', id,
                 'data', jsonb_build_object('from', 'pending', 'to', 'running'))), '[]')
        INTO events FROM started;
      END IF;
    END $$`.execute(db);

  // Events in the order given, and one NOTIFY carrying the newest id; null when there were none.
  await sql`
    CREATE FUNCTION arbor_append_events(p_events jsonb, p_channel text) RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE
      v_last bigint;
    BEGIN
      IF jsonb_array_length(p_events) = 0 THEN RETURN NULL; END IF;
      WITH inserted AS (
        INSERT INTO events (type, goal_id, task_id, data)
        SELECT e->>'type', (e->>'goal_id')::uuid, (e->>'task_id')::uuid, coalesce(e->'data', '{}')
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(e, n)
        ORDER BY n
        RETURNING id)
      SELECT max(id) INTO v_last FROM inserted;
      PERFORM pg_notify(p_channel, v_last::text);
      RETURN v_last;
    END $$`.execute(db);

  // One hop: record successful runs, roll up, claim what is ready, append the events — one statement.
  // Returns one row per claimed task (the report on the first, its goal on the first of that goal's),
  // or one row with no task. A goal travels as jsonb with its numbers as text, as the driver reads them.
  await sql`
    CREATE FUNCTION arbor_dispatch(p_owner text, p_ids uuid[], p_attempts int[], p_results jsonb[],
      p_capacity int, p_spawn_budget int, p_lease_secs double precision, p_channel text)
    RETURNS TABLE (report jsonb, goal jsonb, task tasks)
    LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    DECLARE
      v_applied uuid[] := '{}';
      v_holds_ready boolean := false;
      v_events jsonb := '[]';
      v_completed record;
      v_claim record;
      v_goal_ids uuid[];
      v_notified bigint;
      v_report jsonb;
      v_row tasks;
      v_first boolean := true;
      v_goals jsonb;
    BEGIN
      IF cardinality(p_ids) > 0 THEN
        SELECT * INTO v_completed FROM arbor_complete_successes(p_owner, p_ids, p_attempts, p_results);
        v_applied := v_completed.applied;
        v_holds_ready := v_completed.holds_ready;
        v_events := v_completed.events;
        SELECT array_agg(DISTINCT (e->>'goal_id')::uuid) INTO v_goal_ids FROM jsonb_array_elements(v_events) e;
        v_events := v_events || arbor_roll_up_goals(v_goal_ids);
      END IF;
      SELECT * INTO v_claim FROM arbor_claim(p_owner, p_capacity, p_spawn_budget, p_lease_secs);
      v_events := v_events || v_claim.events;
      v_notified := arbor_append_events(v_events, p_channel);
      v_report := jsonb_build_object('applied', to_jsonb(v_applied), 'holds_ready', v_holds_ready,
        'more', v_claim.more, 'notified', v_notified::text);
      SELECT jsonb_object_agg(g.id, to_jsonb(g) || jsonb_build_object('seq', g.seq::text, 'cost_usd', g.cost_usd::text,
               'input_tokens', g.input_tokens::text, 'output_tokens', g.output_tokens::text))
      INTO v_goals FROM goals g WHERE g.id IN (SELECT t.goal_id FROM tasks t WHERE t.id = ANY(v_claim.claimed));
      FOR v_row IN SELECT * FROM tasks t WHERE t.id = ANY(v_claim.claimed) ORDER BY t.priority DESC, t.ordinal LOOP
        report := CASE WHEN v_first THEN v_report END;
        goal := v_goals -> v_row.goal_id::text;
        v_goals := v_goals - v_row.goal_id::text;
        task := v_row;
        v_first := false;
        RETURN NEXT;
      END LOOP;
      IF v_first THEN
        report := v_report;
        goal := NULL;
        task := NULL;
        RETURN NEXT;
      END IF;
    END $$`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
