export interface paths {
    "/api/auth/session": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Whether the API needs a sign-in, and whether this browser has one */
        get: operations["getAuthSession"];
        put?: never;
        /**
         * Sign in with the API token: sets the HttpOnly `arbor_session` cookie, which the API and its event streams accept
         * @description Writes made with the cookie (POST, PUT, PATCH, DELETE) must carry `X-Arbor-CSRF: <csrf_token>`. A wrong token is 401; with no ARBOR_API_TOKEN configured there is nothing to sign in to: 409.
         */
        post: operations["createAuthSession"];
        /** Sign out: clears the cookie */
        delete: operations["deleteAuthSession"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/goals": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List goals, newest first */
        get: operations["listGoals"];
        put?: never;
        /**
         * Create a goal with its whole task tree
         * @description Before the goal is stored, what its runs will need is checked: `repo` is a git repository, `base_ref` names a commit in it, the agent's CLI is installed. A miss is 422, naming the field in `details[].path` and what to do. An instance that runs no agents (`ARBOR_ROLE=api`) checks only a repository it can see.
         */
        post: operations["createGoal"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/goals/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A goal with its tasks */
        get: operations["getGoal"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/goals/{id}/pause": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Stop dispatching new tasks; running ones finish */
        post: operations["pauseGoal"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/goals/{id}/resume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Dispatch again after a pause */
        post: operations["resumeGoal"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/goals/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Cancel every unfinished task and stop running sessions */
        post: operations["cancelGoal"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One task */
        get: operations["getTask"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Run a failed or blocked task again, with a fresh budget of attempts
         * @description What its failure skipped is pending again, and a goal that failed with it is running again.
         */
        post: operations["retryTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/complete": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** An agent reports its task done (with its task token); this beats the process's exit code */
        post: operations["completeTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/block": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** An agent reports it cannot go on without a person; the task becomes blocked when it exits */
        post: operations["blockTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/subtasks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * An agent adds tasks under its own running task (with its task token); the same as the MCP tool arbor_add_subtasks
         * @description `tasks` has the shape of a goal's tasks. They start once the agent's run succeeds; the task then waits for them like a group.
         */
        post: operations["addSubtasks"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/signal": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Decide one waiting gate directly: pass lets the tree go on, fail sends the work back (rework) */
        post: operations["signalTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/approve": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Approve a task in review */
        post: operations["approveTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/reject": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Reject a task in review: the work it reviews runs again with the feedback in its prompt */
        post: operations["rejectTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/runs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A task's agent runs, oldest first: each attempt or rework, its prompt, its stretch of the session log and how it ended */
        get: operations["listTaskRuns"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/diff": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The task's branch against where it started, rendered from git
         * @description A spawned task: its branch (or, once merged and deleted, the head its run recorded) against the commit its session started from. A pinned task: the goal branch from where its first run started to the head it recorded. No run yet: no branch, no files. The patch is cut at 1 MiB (`truncated`).
         */
        get: operations["getTaskDiff"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The event log: a JSON page, or with Accept: text/event-stream a live stream
         * @description Every state change of goals and tasks, oldest first.
         *
         *     Without `text/event-stream` in `Accept` the answer is a JSON page of events after `after` (default: the
         *     start of the log). With it the answer is Server-Sent Events: each message has `id:` the event id,
         *     `event:` its type and `data:` the event as JSON. A stream first sends every event after
         *     `Last-Event-ID` (or `after`), then follows live; with neither it starts at the current end. A
         *     `: ping` comment keeps idle streams open.
         */
        get: operations["listEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Sessions, newest first */
        get: operations["listSessions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sessions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One session */
        get: operations["getSession"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sessions/{id}/logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A session's log: a JSON page, or with Accept: text/event-stream the lines as they come */
        get: operations["getSessionLogs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sessions/{id}/stop": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Stop a running session (SIGTERM to its process group, SIGKILL after a grace); its task becomes blocked */
        post: operations["stopSession"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/signals/resolve": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Post a signal (CI, a review bot, a person); it resolves every waiting gate it matches
         * @description Stored first, so a gate that opens later still applies it. The same idempotency_key is applied once. Accepts ARBOR_SIGNAL_TOKEN (bearer or X-Internal-Token) as well as the API token. With ARBOR_GITHUB_TOKEN, a gh_ci signal naming a pull request is checked against the checks API for the pull request's current head (the posted verdict counting as one more check of that head); 202 while checks still run.
         */
        post: operations["resolveSignal"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/signals": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Signals received, newest first, with what each resolved */
        get: operations["listSignals"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/webhooks/github": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * GitHub webhook: CI results and reviews resolve gh_ci and gh_review gates
         * @description Authenticated by `X-Hub-Signature-256` over the raw body (the webhook secret, or during a rotation the
         *     old one), not by a bearer token. Configure the webhook with content type `application/json`.
         *
         *     `check_suite` and `workflow_run` `completed` post a `gh_ci` signal for each pull request of this
         *     repository they list, with the head commit as `sha` (success passes; failure, timed_out, cancelled,
         *     action_required and startup_failure fail; other conclusions are ignored). `pull_request_review`
         *     `submitted` posts `gh_review`: approved passes, changes_requested fails with the review body;
         *     comments are ignored.
         *
         *     Each result is applied once, whatever the delivery id: a redelivery, or the same body replayed under a new
         *     `X-GitHub-Delivery`, answers `duplicate: true` and changes nothing. What counts as the same result: the
         *     check suite id and the time it completed, the workflow run id and its attempt, the review id. One delivery
         *     posts at most 20 signals (pull requests past that are left out and logged).
         *
         *     With `ARBOR_GITHUB_TOKEN` configured a CI event is a nudge: Arbor asks the checks API for every check run and
         *     commit status of the pull request's current head and posts `gh_ci` for that head only once all have completed
         *     (pass when all succeeded, fail with the failing checks' names and output titles as soon as one failed).
         */
        post: operations["receiveGithubWebhook"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/templates": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every template, by name */
        get: operations["listTemplates"];
        put?: never;
        /**
         * Store a goal template
         * @description A template is a `POST /api/goals` request whose strings may hold `{{parameter}}` placeholders. Before it is stored, every placeholder must name a declared parameter and the body, filled with each parameter's `example` (else its `default`, else a stand-in of its type), must pass every rule of `POST /api/goals`; a miss is 422. A name already taken is 409.
         */
        post: operations["createTemplate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/templates/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One template */
        get: operations["getTemplate"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/templates/{name}/goals": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create a goal from a template
         * @description Fills the template with `params` (values are inserted as text, never read as placeholders themselves) and creates the goal exactly as `POST /api/goals` would. Unknown, missing or mistyped parameters are 422, each named in `details`.
         */
        post: operations["startTemplate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/triggers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every trigger, oldest first, with its latest start */
        get: operations["listTriggers"];
        put?: never;
        /**
         * Start a template on a schedule or on a GitHub event
         * @description `schedule`: a cron in a time zone; each slot starts one goal, once across every instance (after downtime, only the latest missed slot). `github`: a delivery to `POST /api/webhooks/github` of `event` that passes the filters starts one goal; a redelivery finds the same goal. The goal the trigger would make is checked now, like `POST /api/goals` (parameters taken from payloads with stand-in values); a miss is 422.
         */
        post: operations["createTrigger"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/triggers/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Stop a trigger; the goals it started stay */
        delete: operations["deleteTrigger"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        SignInState: {
            /** @description ARBOR_API_TOKEN is set: the API needs a token or a sign-in */
            auth_required: boolean;
            /** @description the request carries a valid sign-in cookie (always false when no sign-in is required) */
            signed_in: boolean;
            /** @description the sign-in's CSRF token, or null when not signed in */
            csrf_token: string | null;
        };
        Error: {
            /** @example goal not found */
            error: string;
            details?: unknown;
            request_id: string;
        };
        SignedIn: {
            /** @description send as the X-Arbor-CSRF header on every write made with the cookie */
            csrf_token: string;
            /** @description when the sign-in ends */
            expires_at: string;
        };
        SignIn: {
            /** @description the value of ARBOR_API_TOKEN */
            token: string;
        };
        GoalWithTasks: {
            goal: components["schemas"]["Goal"];
            tasks: components["schemas"]["Task"][];
        };
        Goal: {
            /** Format: uuid */
            id: string;
            title: string;
            description: string;
            repo: string;
            base_ref: string;
            branch: string | null;
            agent: string;
            /** @enum {string} */
            children_mode: "sequential" | "parallel";
            /** @enum {string} */
            status: "pending" | "running" | "paused" | "succeeded" | "failed" | "cancelled";
            max_parallel: number;
            metadata: {
                [key: string]: unknown;
            };
            cost_usd: number;
            input_tokens: number;
            output_tokens: number;
            created_at: string;
            updated_at: string;
            started_at: string | null;
            finished_at: string | null;
        };
        Task: {
            /** Format: uuid */
            id: string;
            /** Format: uuid */
            goal_id: string;
            /** Format: uuid */
            parent_id: string | null;
            key: string;
            position: number;
            depth: number;
            title: string;
            instructions: string;
            acceptance: string | null;
            /** @enum {string} */
            kind: "agent" | "wait_for_signal" | "human_review" | "group";
            /** @enum {string} */
            session_policy: "pinned" | "spawn" | "auto";
            /**
             * @description the lane session_policy resolved to
             * @enum {string}
             */
            route: "pinned" | "spawned";
            /** @enum {string} */
            children_mode: "sequential" | "parallel";
            agent: string | null;
            /** @enum {string} */
            status: "pending" | "running" | "waiting" | "review" | "succeeded" | "failed" | "blocked" | "skipped" | "cancelled";
            priority: number;
            attempt: number;
            max_attempts: number;
            not_before: string | null;
            timeout_s: number | null;
            requires_approval: boolean;
            gate: components["schemas"]["Gate"] | null;
            /** @description the gate as bound when it opened: attributes taken {"from": key} filled in (repo, pr, head sha); null before that */
            gate_bound: components["schemas"]["Gate"] | null;
            result: components["schemas"]["TaskResult"] | null;
            error: string | null;
            /** @description what the task's agent runs cost, over all its attempts */
            cost_usd: number;
            input_tokens: number;
            output_tokens: number;
            /** @description ids of the tasks this one waits for */
            depends_on: string[];
            /** Format: uuid */
            session_id: string | null;
            metadata: {
                [key: string]: unknown;
            };
            created_at: string;
            updated_at: string;
            started_at: string | null;
            finished_at: string | null;
        };
        Gate: components["schemas"]["GateCondition"] & {
            /** @enum {string} */
            on_timeout?: "fail" | "pass";
            /** @description how many times a failing signal may send the work back */
            rework?: number;
            timeout_s?: number;
        };
        GateCondition: components["schemas"]["GateLeaf"] | {
            /** @description every condition must pass */
            all: components["schemas"]["GateCondition"][];
        } | {
            /** @description one passing condition is enough */
            any: components["schemas"]["GateCondition"][];
        };
        /** @description matches a signal of the same type whose attributes equal every attribute named here */
        GateLeaf: {
            /**
             * @description gh_ci, gh_review, centaur_review, human_approval or any lowercase name
             * @example gh_ci
             */
            type: string;
            /** @description owner/name, lower case */
            repo?: string | components["schemas"]["GateFrom"];
            pr?: number | components["schemas"]["GateFrom"];
            sha?: string | components["schemas"]["GateFrom"];
            /** @description gh_ci only: the checks that decide it; unset, every check does */
            checks?: string[];
        } & {
            [key: string]: string | number | components["schemas"]["GateFrom"] | string[];
        };
        GateFrom: {
            /** @description the key of the task whose reported pull request fills this attribute */
            from: string;
        };
        TaskResult: {
            /** @description the agent's final word, or the deciding signal's summary */
            summary?: string | null;
            /** @description what the agent or signal reported, as given */
            artifacts?: unknown;
            session_id?: string;
            /** @description this run alone */
            cost_usd?: number;
            input_tokens?: number;
            output_tokens?: number;
            /** @description tools the agent was denied (when denials are only noted) */
            permission_denials?: unknown[];
            /** @description the pull request the agent reported or Arbor opened */
            pull_request?: {
                url: string;
                head_sha?: string;
                repo: string;
                number: number;
            };
            /** @description the branch the run worked on */
            branch?: string;
            goal_branch?: string;
            /** @description the commit the run started from */
            base?: string;
            /** @description the branch head when the run ended */
            head?: string;
            commits?: {
                sha: string;
                subject: string;
            }[];
            diffstat?: {
                files: number;
                insertions: number;
                deletions: number;
            };
            /** @description the commit that put the work on the goal branch */
            merge?: string;
            /** @description gates: the signals that passed it */
            signal_ids?: string[];
            timed_out?: boolean;
            passed_on_timeout?: boolean;
            /** @description reviews: approved by a person */
            approved?: boolean;
            comment?: string;
        } & {
            [key: string]: unknown;
        };
        CreateGoal: {
            title: string;
            description?: string;
            repo: string;
            base_ref?: string;
            /** @enum {string} */
            agent?: "claude" | "codex" | "command";
            /** @enum {string} */
            children_mode?: "sequential" | "parallel";
            max_parallel?: number;
            metadata?: {
                [key: string]: unknown;
            };
            /** @description Arbor opens one pull request for the goal branch when the first agent task succeeds, and updates it after each one (needs ARBOR_GITHUB_TOKEN); every agent task reports it as result.pull_request */
            pull_request?: {
                base: string;
                title: string;
                body?: string;
                draft?: boolean;
                repo?: string;
                head?: string;
            };
            tasks: components["schemas"]["TaskSpec"][];
        };
        TaskSpec: {
            key: string;
            title: string;
            instructions?: string;
            acceptance?: string;
            /** @enum {string} */
            kind?: "agent" | "wait_for_signal" | "human_review" | "group";
            /** @enum {string} */
            session_policy?: "pinned" | "spawn" | "auto";
            /** @enum {string} */
            children_mode?: "sequential" | "parallel";
            /** @enum {string} */
            agent?: "claude" | "codex" | "command";
            depends_on?: string[];
            children?: components["schemas"]["TaskSpec"][];
            /** @description for wait_for_signal tasks: {type, repo?, pr?, pr_url?, sha?, ...} or {all|any: [...]}; pr, pr_url, repo and sha may be {"from": "<task key>"}: bound when the gate opens to the pull request that task reported */
            gate?: {
                [key: string]: unknown;
            };
            priority?: number;
            max_attempts?: number;
            timeout_s?: number;
            requires_approval?: boolean;
            /** @description for agent tasks: when the run succeeds Arbor opens (or updates) this pull request on GitHub (needs ARBOR_GITHUB_TOKEN) and reports it as result.pull_request */
            pull_request?: {
                base: string;
                title: string;
                body?: string;
                draft?: boolean;
                repo?: string;
                head?: string;
            };
            metadata?: {
                [key: string]: unknown;
            };
        };
        GoalPage: {
            goals: components["schemas"]["GoalWithProgress"][];
            next_cursor: string | null;
        };
        GoalWithProgress: components["schemas"]["Goal"] & {
            progress: components["schemas"]["GoalProgress"];
        };
        GoalProgress: {
            /** @description the goal's tasks, groups not counted */
            total: number;
            /** @description those tasks by status; every status present */
            by_status: {
                pending?: number;
                running?: number;
                waiting?: number;
                review?: number;
                succeeded?: number;
                failed?: number;
                blocked?: number;
                skipped?: number;
                cancelled?: number;
            };
        };
        GoalDetail: {
            goal: components["schemas"]["GoalWithProgress"];
            tasks: components["schemas"]["Task"][];
        };
        AddSubtasks: {
            tasks: components["schemas"]["TaskSpec"][];
            /** @enum {string} */
            children_mode?: "sequential" | "parallel";
        };
        TaskRuns: {
            runs: components["schemas"]["TaskRun"][];
        };
        TaskRun: {
            /** Format: uuid */
            id: string;
            /** Format: uuid */
            task_id: string;
            /** Format: uuid */
            session_id: string;
            attempt: number;
            /** @description the prompt the agent got, exactly */
            prompt: string;
            /** @description the commit the run's worktree stood at when it started */
            base_sha: string | null;
            /** @description the first seq of this run's lines in its session's log */
            log_from_seq: number;
            /** @description the last seq of its lines; null while it runs */
            log_to_seq: number | null;
            started_at: string;
            ended_at: string | null;
            /**
             * @description null while it runs
             * @enum {string|null}
             */
            outcome: "succeeded" | "failed" | "blocked" | "interrupted" | null;
            /** @description why it failed or was blocked */
            error: string | null;
        };
        TaskDiff: {
            /** @description the task's branch (a pinned task's is the goal branch); null before its first run */
            branch: string | null;
            /** @description where the task started */
            base_sha: string | null;
            head_sha: string | null;
            files: components["schemas"]["DiffFile"][];
            /** @description unified diff of head against base */
            patch: string;
            /** @description the patch was cut at 1 MiB (files are complete) */
            truncated: boolean;
            /** @description why there is no diff although there is a branch; else null */
            note: string | null;
        };
        DiffFile: {
            path: string;
            /** @description for a rename, the path before */
            old_path: string | null;
            /** @enum {string} */
            status: "added" | "modified" | "deleted" | "renamed";
            additions: number;
            deletions: number;
            binary: boolean;
        };
        EventPage: {
            events: components["schemas"]["Event"][];
            /** @description pass as `after` for the next page (or to follow live over SSE); may lie past the last event shown */
            next_after: string;
        };
        Event: {
            /**
             * @description increases with every event; pass back as `after` or `Last-Event-ID`
             * @example 42
             */
            id: string;
            type: components["schemas"]["EventType"];
            /** Format: uuid */
            goal_id: string | null;
            /** Format: uuid */
            task_id: string | null;
            /** Format: uuid */
            session_id: string | null;
            /** Format: uuid */
            signal_id: string | null;
            /** @description for status changes: from, to and, where useful, reason and attempt */
            data: {
                [key: string]: unknown;
            };
            at: string;
        };
        /** @enum {string} */
        EventType: "goal.created" | "goal.status_changed" | "task.status_changed" | "task.subtasks_added" | "task.pull_request_reported" | "session.started" | "session.idle" | "session.ended" | "session.stop_requested" | "signal.received";
        Session: {
            /** Format: uuid */
            id: string;
            /** Format: uuid */
            goal_id: string;
            /**
             * Format: uuid
             * @description the task of its current or last run
             */
            task_id: string | null;
            /** @description that task's key */
            task_key: string | null;
            /** @enum {string} */
            kind: "pinned" | "spawned";
            agent: string;
            /** @enum {string} */
            status: "starting" | "running" | "idle" | "ended";
            worktree_path: string | null;
            branch: string | null;
            base_sha: string | null;
            /** @description the agent's own conversation id */
            agent_session_id: string | null;
            host: string | null;
            pid: number | null;
            attempt: number | null;
            owner: string | null;
            end_reason: string | null;
            exit_code: number | null;
            exit_signal: string | null;
            /** @description what its runs cost, each counted once */
            cost_usd: number;
            input_tokens: number;
            output_tokens: number;
            log_lines: number;
            /** @description lines not stored: never written (log_unwritten), or the oldest removed past the bound on kept lines */
            log_dropped: number;
            /** @description of log_dropped, the lines never written: the database took nothing for too long */
            log_unwritten: number;
            stop_requested_at: string | null;
            created_at: string;
            started_at: string | null;
            ended_at: string | null;
        };
        SessionLogPage: {
            lines: components["schemas"]["SessionLogLine"][];
            next_after: number;
            /** @description pass as before_seq for the page before this one; null when no older line is stored */
            next_before: number | null;
        };
        SessionLogLine: {
            seq: number;
            /** @enum {string} */
            stream: "stdout" | "stderr" | "event";
            text: string;
            at: string;
        };
        ResolveResult: {
            /** Format: uuid */
            signal_id: string;
            matched: string[];
            duplicate: boolean;
        };
        /** @description Any further string or number field is an attribute that gates of custom types can match on. */
        ResolveSignal: {
            /** @example gh_ci */
            type: string;
            /** @enum {string} */
            status: "pass" | "fail";
            /** @example acme/web */
            repo?: string;
            /** @example 42 */
            pr?: number | string;
            pr_url?: string;
            sha?: string;
            summary?: string;
            artifacts?: unknown;
            idempotency_key?: string;
        } & {
            [key: string]: string | number;
        };
        Signal: {
            /** Format: uuid */
            id: string;
            type: string;
            attributes: {
                [key: string]: string | number;
            };
            /** @enum {string} */
            status: "pass" | "fail";
            summary: string | null;
            artifacts?: unknown;
            idempotency_key: string | null;
            /** @enum {string} */
            source: "api" | "github" | "task";
            /** @description gates this signal matched, including gates that applied it when they opened later */
            matched_task_ids: string[];
            /** @description those gates, named (a gate whose goal was deleted is left out) */
            matched: components["schemas"]["MatchedGate"][];
            received_at: string;
        };
        MatchedGate: {
            /** Format: uuid */
            task_id: string;
            task_key: string;
            /** Format: uuid */
            goal_id: string;
            goal_title: string;
        };
        WebhookSignals: {
            signals: {
                signal_id: string;
                /** @description ids of the gate tasks this signal resolved */
                matched: string[];
                /** @description true when this delivery was already applied; nothing changed */
                duplicate: boolean;
            }[];
            /** @description with ARBOR_GITHUB_TOKEN: pull requests whose checks are not all done yet (no signal posted), with what is still running */
            pending?: string[];
        };
        WebhookPing: {
            /** @enum {boolean} */
            ok: true;
        };
        WebhookIgnored: {
            /** @example event "push" is not one Arbor acts on */
            ignored: string;
        };
        Template: {
            name: string;
            description: string;
            parameters: {
                [key: string]: components["schemas"]["TemplateParameter"];
            };
            body: {
                [key: string]: unknown;
            };
            /**
             * @description file: shipped in templates/ and refreshed at every start
             * @enum {string}
             */
            source: "api" | "file";
            created_at: string;
            updated_at: string;
        };
        TemplateParameter: {
            /**
             * @default string
             * @enum {string}
             */
            type: "string" | "integer" | "number" | "boolean";
            description?: string;
            required?: boolean;
            default?: string | number | boolean;
            example?: string | number | boolean;
        };
        TemplateDefinition: {
            name: string;
            description?: string;
            /** @default {} */
            parameters: {
                [key: string]: components["schemas"]["TemplateParameter"];
            };
            /** @description a POST /api/goals request; strings may hold {{parameter}} placeholders */
            body: {
                [key: string]: unknown;
            };
        };
        StartTemplate: {
            /**
             * @description values for the template's parameters; missing ones take their default
             * @default {}
             */
            params: {
                [key: string]: string | number | boolean;
            };
        };
        Trigger: {
            /** Format: uuid */
            id: string;
            template: string;
            params: {
                [key: string]: unknown;
            };
            schedule: {
                cron: string;
                time_zone: string;
                next_slot: string | null;
            } | null;
            github: {
                event: string;
                action?: string;
                repository?: string;
                label?: string;
                params_from: {
                    [key: string]: string;
                };
            } | null;
            /** @description the newest start: the goal it created, or why it could not */
            last_run: {
                slot: string;
                goal_id: string | null;
                error: string | null;
                at: string;
            } | null;
            created_at: string;
        };
        CreateTrigger: {
            template: string;
            /**
             * @description parameter values every goal of this trigger starts with
             * @default {}
             */
            params: {
                [key: string]: string | number | boolean;
            };
            schedule?: {
                /**
                 * @description five fields (or six, with seconds first)
                 * @example 0 9 * * 1-5
                 */
                cron: string;
                /**
                 * @description IANA time zone the cron is read in
                 * @default UTC
                 * @example Europe/Berlin
                 */
                time_zone: string;
            };
            github?: {
                /** @example pull_request */
                event: string;
                /** @example opened */
                action?: string;
                repository?: string;
                /** @description the label added, or one the pull request / issue carries */
                label?: string;
                /**
                 * @description parameters taken from the event payload: {parameter: "dotted.path"}
                 * @default {}
                 */
                params_from: {
                    [key: string]: string;
                };
            };
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getAuthSession: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the sign-in state */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SignInState"];
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createAuthSession: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SignIn"];
            };
        };
        responses: {
            /** @description signed in; the cookie is set */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SignedIn"];
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteAuthSession: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description signed out */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listGoals: {
        parameters: {
            query?: {
                status?: "pending" | "running" | "paused" | "succeeded" | "failed" | "cancelled";
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description a page of goals */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GoalPage"];
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createGoal: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateGoal"];
            };
        };
        responses: {
            /** @description the stored goal and its tasks, flattened in tree order */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GoalWithTasks"];
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getGoal: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the goal, with its progress */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GoalDetail"];
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    pauseGoal: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": Record<string, never>;
            };
        };
        responses: {
            /** @description the goal after the change */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        goal: components["schemas"]["Goal"];
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    resumeGoal: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": Record<string, never>;
            };
        };
        responses: {
            /** @description the goal after the change */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        goal: components["schemas"]["Goal"];
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    cancelGoal: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": Record<string, never>;
            };
        };
        responses: {
            /** @description the goal after the change */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        goal: components["schemas"]["Goal"];
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the task */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Task"];
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    retryTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": Record<string, never>;
            };
        };
        responses: {
            /** @description the task, pending again */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        task: components["schemas"]["Task"];
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    completeTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    summary?: string;
                    artifacts?: unknown;
                };
            };
        };
        responses: {
            /** @description kept; it decides the task when the agent exits */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {boolean} */
                        recorded: true;
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    blockTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    reason: string;
                };
            };
        };
        responses: {
            /** @description kept; it decides the task when the agent exits */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {boolean} */
                        recorded: true;
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    addSubtasks: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AddSubtasks"];
            };
        };
        responses: {
            /** @description the tasks added */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        tasks: components["schemas"]["Task"][];
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    signalTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @enum {string} */
                    status: "pass" | "fail";
                    summary?: string;
                    artifacts?: unknown;
                };
            };
        };
        responses: {
            /** @description the task after the decision */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        task: components["schemas"]["Task"];
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    approveTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    comment?: string;
                };
            };
        };
        responses: {
            /** @description the task after the decision */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        task: components["schemas"]["Task"];
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    rejectTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    feedback: string;
                };
            };
        };
        responses: {
            /** @description the task after the decision */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        task: components["schemas"]["Task"];
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listTaskRuns: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the runs */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TaskRuns"];
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getTaskDiff: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the diff */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TaskDiff"];
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listEvents: {
        parameters: {
            query?: {
                /** @description only the events of this goal */
                goal_id?: string;
                /** @description start after this event id; `Last-Event-ID` wins when both are given (an EventSource reconnecting sends it) */
                after?: string;
                /** @description page size of the JSON form */
                limit?: number;
            };
            header?: {
                /** @description resume after this event id */
                "last-event-id"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description a page of events, or the event stream */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EventPage"];
                    "text/event-stream": string;
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description events are being written right now and the page could not settle; retry shortly */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listSessions: {
        parameters: {
            query?: {
                goal_id?: string;
                /** @description only the sessions that ran this task */
                task_id?: string;
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description sessions */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        sessions: components["schemas"]["Session"][];
                    };
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getSession: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the session */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Session"];
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getSessionLogs: {
        parameters: {
            query?: {
                /** @description return lines with a larger seq (0 is the marker of dropped lines) */
                after?: number | null;
                /** @description page backwards: the `limit` lines just before this seq (and after `after`), oldest first; JSON only */
                before_seq?: number | null;
                limit?: number;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description log lines */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionLogPage"];
                    "text/event-stream": string;
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    stopSession: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": Record<string, never>;
            };
        };
        responses: {
            /** @description the stop was requested; the owning instance ends the process */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        session: components["schemas"]["Session"];
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    resolveSignal: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ResolveSignal"];
            };
        };
        responses: {
            /** @description the stored signal and the gates it matched */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ResolveResult"];
                };
            };
            /** @description gh_ci with a GitHub token: checks of the pull request's head still run; nothing stored */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        pending: string;
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listSignals: {
        parameters: {
            query?: {
                type?: string;
                repo?: string;
                pr?: number;
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description a page of signals */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        signals: components["schemas"]["Signal"][];
                        /** Format: uuid */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    receiveGithubWebhook: {
        parameters: {
            query?: never;
            header: {
                /** @description `sha256=` and the hex HMAC-SHA256 of the raw body under the webhook secret */
                "X-Hub-Signature-256": string;
                /** @description the event name: ping, check_suite, workflow_run, pull_request_review, … */
                "X-GitHub-Event": string;
                /** @description the delivery id; a redelivery with the same id is applied once */
                "X-GitHub-Delivery": string;
            };
            path?: never;
            cookie?: never;
        };
        /** @description the GitHub event payload, exactly as GitHub sent it */
        requestBody: {
            content: {
                "application/json": {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description the signals the event posted, or the answer to a ping */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookSignals"] | components["schemas"]["WebhookPing"];
                };
            };
            /** @description a genuine delivery that Arbor does not act on, and why */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookIgnored"];
                };
            };
            /** @description a GitHub header is missing or the body is not JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the signature is missing or wrong */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the event names something Arbor cannot take as a signal */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description GitHub's checks API did not answer (redeliver to try again) */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no webhook secret is configured */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listTemplates: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the templates */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        templates: components["schemas"]["Template"][];
                    };
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createTemplate: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TemplateDefinition"];
            };
        };
        responses: {
            /** @description the stored template */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        template: components["schemas"]["Template"];
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the transition is not allowed in the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getTemplate: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the template */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        template: components["schemas"]["Template"];
                    };
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    startTemplate: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["StartTemplate"];
            };
        };
        responses: {
            /** @description the stored goal and its tasks */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GoalWithTasks"];
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listTriggers: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the triggers */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        triggers: components["schemas"]["Trigger"][];
                    };
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createTrigger: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateTrigger"];
            };
        };
        responses: {
            /** @description the stored trigger */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        trigger: components["schemas"]["Trigger"];
                    };
                };
            };
            /** @description the body is not valid UTF-8 JSON, or the query holds text that cannot be stored */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is too large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the body is not application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteTrigger: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the deleted trigger */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        trigger: components["schemas"]["Trigger"];
                    };
                };
            };
            /** @description the query or a header holds text that cannot be stored (NUL, a lone surrogate) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description missing or invalid token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the token may not call this route */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description no such resource */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description the request has the wrong shape */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
}
