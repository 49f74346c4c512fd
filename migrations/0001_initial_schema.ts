import { sql, type Kysely } from 'kysely';

/**
 * The whole data model of the design, so later work adds columns rather than
 * redesigning. Status columns are text with CHECK constraints (not enums): adding
 * a state later is a one-line constraint change instead of an ALTER TYPE dance.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE goals (
      id            uuid PRIMARY KEY,
      -- Creation order, for stable keyset pagination (timestamps can tie).
      seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      title         text NOT NULL,
      description   text NOT NULL DEFAULT '',
      repo          text NOT NULL,
      base_ref      text NOT NULL,
      branch        text,
      agent         text NOT NULL,
      children_mode text NOT NULL CHECK (children_mode IN ('sequential', 'parallel')),
      status        text NOT NULL CHECK (status IN ('pending', 'running', 'paused', 'succeeded', 'failed', 'cancelled')),
      max_parallel  integer NOT NULL CHECK (max_parallel > 0),
      metadata      jsonb NOT NULL DEFAULT '{}',
      cost_usd      numeric(14, 6) NOT NULL DEFAULT 0,
      created_at    timestamptz NOT NULL DEFAULT now(),
      updated_at    timestamptz NOT NULL DEFAULT now(),
      started_at    timestamptz,
      finished_at   timestamptz
    )`.execute(db);
  // Listing pages newest first, optionally by status.
  await sql`CREATE INDEX goals_status_seq_idx ON goals (status, seq)`.execute(db);
  // The orchestrator ticks over open goals only; finished ones are history.
  await sql`CREATE INDEX goals_open_idx ON goals (id) WHERE status IN ('pending', 'running', 'paused')`.execute(db);

  await sql`
    CREATE TABLE tasks (
      id                uuid PRIMARY KEY,
      goal_id           uuid NOT NULL REFERENCES goals (id) ON DELETE CASCADE,
      parent_id         uuid REFERENCES tasks (id) ON DELETE CASCADE,
      key               text NOT NULL,
      -- Place in a preorder walk of the goal's tree: listing a goal's tasks in
      -- this order shows every parent before its children.
      ordinal           integer NOT NULL,
      position          integer NOT NULL,
      depth             integer NOT NULL,
      title             text NOT NULL,
      instructions      text NOT NULL DEFAULT '',
      acceptance        text,
      kind              text NOT NULL CHECK (kind IN ('agent', 'wait_for_signal', 'human_review', 'group')),
      session_policy    text NOT NULL CHECK (session_policy IN ('pinned', 'spawn', 'auto')),
      -- The lane the policy resolves to once the tree is known (auto: spawned
      -- when siblings run in parallel, pinned when in sequence).
      route             text NOT NULL CHECK (route IN ('pinned', 'spawned')),
      children_mode     text NOT NULL CHECK (children_mode IN ('sequential', 'parallel')),
      agent             text,
      status            text NOT NULL CHECK (status IN ('pending', 'running', 'waiting', 'review', 'succeeded',
                                                        'failed', 'blocked', 'skipped', 'cancelled')),
      priority          integer NOT NULL DEFAULT 0,
      -- attempt only ever grows: with the lease owner it fences every write of
      -- a running task, so a number must never be reused. A person's retry (or
      -- an interrupted run that was not the task's fault) moves attempt_floor
      -- instead, and attempts used are attempt - attempt_floor.
      attempt           integer NOT NULL DEFAULT 0,
      attempt_floor     integer NOT NULL DEFAULT 0,
      max_attempts      integer NOT NULL CHECK (max_attempts > 0),
      -- Dependencies not yet succeeded or skipped. Kept current in the same
      -- transaction that finishes a dependency, so readiness is an indexed
      -- lookup rather than a join over the whole tree.
      unmet_deps        integer NOT NULL DEFAULT 0 CHECK (unmet_deps >= 0),
      not_before        timestamptz,
      timeout_s         integer CHECK (timeout_s > 0),
      requires_approval boolean NOT NULL DEFAULT false,
      gate              jsonb,
      -- A gate applies signals received from this moment on (when the work it
      -- waits for began, moved forward by each rework), so a result from an
      -- older run is never used.
      gate_armed_at     timestamptz,
      gate_deadline     timestamptz,
      -- Times a failing signal or a rejection sent the work back.
      rework_count      integer NOT NULL DEFAULT 0,
      result            jsonb,
      error             text,
      attempts_log      jsonb NOT NULL DEFAULT '[]',
      lease_owner       text,
      lease_expires_at  timestamptz,
      session_id        uuid,
      metadata          jsonb NOT NULL DEFAULT '{}',
      created_at        timestamptz NOT NULL DEFAULT now(),
      updated_at        timestamptz NOT NULL DEFAULT now(),
      started_at        timestamptz,
      finished_at       timestamptz,
      UNIQUE (goal_id, key),
      CHECK ((kind = 'wait_for_signal') = (gate IS NOT NULL))
    )`.execute(db);
  await sql`CREATE INDEX tasks_goal_idx ON tasks (goal_id, ordinal)`.execute(db);
  // Ready candidates: partial indexes that only ever hold tasks whose
  // dependencies are met and that have not started, so finding work costs what
  // is ready, not what is stored.
  // Ready agent tasks of a goal, in dispatch order (priority, then tree
  // order); and ready tasks that need no session (groups, gates, reviews),
  // kept apart so that neither query wades through the other's rows.
  await sql`
    CREATE INDEX tasks_ready_idx ON tasks (goal_id, priority DESC, ordinal)
    WHERE status = 'pending' AND unmet_deps = 0 AND kind = 'agent'`.execute(db);
  await sql`
    CREATE INDEX tasks_ready_holds_idx ON tasks (priority DESC, created_at, goal_id, ordinal)
    WHERE status = 'pending' AND unmet_deps = 0 AND kind <> 'agent'`.execute(db);
  // Lease expiry sweeps and per-goal running counts look only at running tasks.
  await sql`CREATE INDEX tasks_lease_idx ON tasks (lease_expires_at) WHERE status = 'running'`.execute(db);
  await sql`CREATE INDEX tasks_running_idx ON tasks (goal_id) WHERE status = 'running'`.execute(db);
  await sql`CREATE INDEX tasks_gate_deadline_idx ON tasks (gate_deadline) WHERE status = 'waiting'`.execute(db);
  // "Is anything in this goal / under this group still unfinished?" must not
  // scan the finished ones: roll-ups ask it on every completion.
  await sql`
    CREATE INDEX tasks_unfinished_goal_idx ON tasks (goal_id)
    WHERE status NOT IN ('succeeded', 'skipped')`.execute(db);
  await sql`
    CREATE INDEX tasks_unfinished_parent_idx ON tasks (parent_id)
    WHERE parent_id IS NOT NULL AND status NOT IN ('succeeded', 'skipped')`.execute(db);

  await sql`
    CREATE TABLE task_dependencies (
      task_id       uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
      depends_on_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
      PRIMARY KEY (task_id, depends_on_id),
      CHECK (task_id <> depends_on_id)
    )`.execute(db);
  // "Who waits on me?" when a task finishes.
  await sql`CREATE INDEX task_dependencies_reverse_idx ON task_dependencies (depends_on_id)`.execute(db);

  // One row per (gate task, key it can be resolved by): a compound gate has
  // several. Resolving a signal is an index probe on match_key.
  await sql`
    CREATE TABLE task_gate_keys (
      task_id   uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
      match_key text NOT NULL,
      PRIMARY KEY (match_key, task_id)
    )`.execute(db);
  await sql`CREATE INDEX task_gate_keys_task_idx ON task_gate_keys (task_id)`.execute(db);

  await sql`
    CREATE TABLE sessions (
      id               uuid PRIMARY KEY,
      goal_id          uuid NOT NULL REFERENCES goals (id) ON DELETE CASCADE,
      task_id          uuid REFERENCES tasks (id) ON DELETE SET NULL,
      kind             text NOT NULL CHECK (kind IN ('pinned', 'spawned')),
      agent            text NOT NULL,
      worktree_path    text,
      branch           text,
      base_sha         text,
      agent_session_id text,
      -- The process, identified by pid AND kernel start time so that a pid
      -- reused after a crash is never mistaken for our agent.
      host             text,
      pid              integer,
      pid_started_at   text,
      attempt          integer,
      -- Only a hash: the token itself lives in the agent's environment.
      token_hash       text UNIQUE,
      -- What the agent reported through its callback (complete/block), read when it exits.
      reported         jsonb,
      stop_requested_at timestamptz,
      status           text NOT NULL CHECK (status IN ('starting', 'running', 'idle', 'ended')),
      end_reason       text,
      exit_code        integer,
      exit_signal      text,
      owner            text,
      heartbeat_at     timestamptz,
      cost_usd         numeric(14, 6) NOT NULL DEFAULT 0,
      input_tokens     bigint NOT NULL DEFAULT 0,
      output_tokens    bigint NOT NULL DEFAULT 0,
      log_lines        bigint NOT NULL DEFAULT 0,
      log_dropped      bigint NOT NULL DEFAULT 0,
      created_at       timestamptz NOT NULL DEFAULT now(),
      updated_at       timestamptz NOT NULL DEFAULT now(),
      started_at       timestamptz,
      ended_at         timestamptz
    )`.execute(db);
  await sql`CREATE INDEX sessions_goal_idx ON sessions (goal_id, created_at)`.execute(db);
  await sql`CREATE INDEX sessions_owner_live_idx ON sessions (owner) WHERE status <> 'ended'`.execute(db);
  // At most one live pinned session per goal.
  await sql`
    CREATE UNIQUE INDEX sessions_one_pinned_idx ON sessions (goal_id)
    WHERE kind = 'pinned' AND status <> 'ended'`.execute(db);

  await sql`
    CREATE TABLE session_logs (
      session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      seq        bigint NOT NULL,
      stream     text NOT NULL CHECK (stream IN ('stdout', 'stderr', 'event')),
      at         timestamptz NOT NULL DEFAULT now(),
      text       text NOT NULL,
      PRIMARY KEY (session_id, seq)
    )`.execute(db);

  await sql`
    CREATE TABLE signals (
      id               uuid PRIMARY KEY,
      type             text NOT NULL,
      attributes       jsonb NOT NULL DEFAULT '{}',
      match_keys       text[] NOT NULL,
      status           text NOT NULL CHECK (status IN ('pass', 'fail')),
      summary          text,
      artifacts        jsonb,
      idempotency_key  text UNIQUE,
      source           text NOT NULL CHECK (source IN ('api', 'github', 'task')),
      matched_task_ids uuid[] NOT NULL DEFAULT '{}',
      received_at      timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  // A gate that opens looks for the newest signal with one of its keys. No
  // pending list (fastupdate): with it, every lookup scans all signals since
  // the last vacuum, so a resolve slowed down with the signals received.
  await sql`CREATE INDEX signals_match_keys_idx ON signals USING gin (match_keys) WITH (fastupdate = off)`.execute(db);
  await sql`CREATE INDEX signals_received_idx ON signals (received_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX signals_type_received_idx ON signals (type, received_at DESC)`.execute(db);

  await sql`
    CREATE TABLE events (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      goal_id    uuid REFERENCES goals (id) ON DELETE CASCADE,
      task_id    uuid,
      session_id uuid,
      signal_id  uuid,
      type       text NOT NULL,
      data       jsonb NOT NULL DEFAULT '{}',
      at         timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX events_goal_idx ON events (goal_id, id)`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
