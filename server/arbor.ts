import type { Config } from './config.js';
import { NotificationListener } from './db/notification-listener.js';
import { openDatabase, type ReadyDatabase } from './database-setup.js';
import { createGithubClient } from './github/github-client.js';
import { withPullRequests } from './github/pull-request-runner.js';
import { bundleDashboard } from './dashboard-bundle.js';
import { createApp } from './http/app.js';
import { firstLoadBytes } from './http/dashboard/dashboard-assets.js';
import { listenHttp, type HttpListener } from './http/listener.js';
import type { Logger } from './logger.js';
import { Notifier } from './notifications/notifier.js';
import { createArborMetrics } from './observability/arbor-metrics.js';
import { EventObserver } from './observability/event-observer.js';
import { withObservation } from './observability/observed-runner.js';
import type { SessionRunner } from './orchestrator/session-runner.js';
import { OpeningCiCheck } from './signals/opening-ci-check.js';
import { TaskOrchestrator } from './orchestrator/task-orchestrator.js';
import { runShutdownSteps, type ShutdownStep, type StepFailure } from './shutdown-steps.js';
import { EVENTS_CHANNEL } from './store/events.js';
import { SHIPPED_TEMPLATES_DIR, loadShippedTemplates } from './templates/shipped-templates.js';
import { TriggerScheduler } from './triggers/trigger-scheduler.js';

/**
 * One running Arbor: database (embedded or given) -> migrations -> change
 * notifications -> orchestrator (unless `role` is `api`) -> HTTP (unless it is
 * `worker`). `stop()` undoes it in reverse: no new requests, streams end,
 * in-flight requests finish, the orchestrator hands its running tasks back,
 * then the database goes. A start that fails part-way undoes what it did.
 */
export interface RunningArbor {
  /** Where the API listens; null for a worker. */
  url: string | null;
  database: ReadyDatabase;
  orchestrator: TaskOrchestrator | null;
  /** Settles when Arbor cannot go on (its embedded Postgres is lost for good): stop it and exit non-zero. */
  failed: Promise<Error>;
  /**
   * Runs every step of the shutdown even when one fails, within a bounded
   * time, and never rejects: resolves with the steps that failed (logged).
   */
  stop(): Promise<StepFailure[]>;
  /** During a stop's drain, stops waiting for running sessions (a second signal). */
  hurry(): void;
}

const SHUTDOWN_GRACE_MS = 10_000;
/** How often schedule triggers look for a due slot: a scheduled goal starts within this of its time. */
const TRIGGER_TICK_MS = 5_000;
/**
 * How long the orchestrator may take beyond its grace for sessions (handing
 * tasks back, recording outcomes); a drain phase adds its own time here.
 */
const ORCHESTRATOR_STOP_MARGIN_MS = 20_000;

/** Builds the runner once the database is open: real sessions record themselves there. */
export type RunnerFactory = (deps: {
  db: ReadyDatabase['db'];
  config: Config;
  logger: Logger;
  /** Where agents reach the API; known once the HTTP server listens. */
  apiUrl: () => string;
}) => SessionRunner;

export async function startArbor(config: Config, logger: Logger, makeRunner: RunnerFactory): Promise<RunningArbor> {
  // Bundled in the background (a second or two of CPU): the API does not wait for it, dashboard requests do.
  const dashboard = config.dashboard && config.role !== 'worker' ? bundleInBackground(logger) : undefined;
  const database = await openDatabase(config, logger);
  let http: HttpListener | null = null;
  let notifications: NotificationListener | null = null;
  let orchestrator: TaskOrchestrator | null = null;
  let scheduler: TriggerScheduler | null = null;
  let openingCi: OpeningCiCheck | null = null;
  let notifier: Notifier | null = null;
  let observer: EventObserver | null = null;
  const shuttingDown = new AbortController();

  const stopSteps = (): ShutdownStep[] => [
    // First, while the API still answers the agents: running sessions may finish.
    { name: 'draining sessions', run: async () => orchestrator?.drain(config.shutdownDrainMs), deadlineMs: config.shutdownDrainMs + 5_000 },
    {
      name: 'closing HTTP',
      run: async () => {
        // Streams end themselves on this; the listener closes connections as they go idle.
        shuttingDown.abort();
        await http?.close(SHUTDOWN_GRACE_MS);
      },
      deadlineMs: SHUTDOWN_GRACE_MS + 1_000,
    },
    { name: 'stopping schedule triggers', run: async () => scheduler?.stop(), deadlineMs: 5_000 },
    { name: 'stopping opened CI gate checks', run: async () => openingCi?.stop(), deadlineMs: 5_000 },
    { name: 'stopping the orchestrator', run: async () => orchestrator?.stop(), deadlineMs: SHUTDOWN_GRACE_MS + ORCHESTRATOR_STOP_MARGIN_MS },
    // After the orchestrator: what it recorded on the way out is still read (and, within the send timeout, sent).
    { name: 'stopping the event observer', run: async () => observer?.stop(), deadlineMs: 5_000 },
    { name: 'stopping the notifier', run: async () => notifier?.stop(), deadlineMs: config.notifications.timeoutMs + 5_000 },
    { name: 'stopping notifications', run: async () => notifications?.stop(), deadlineMs: 5_000 },
    // No deadline: it bounds its own steps, and Postgres must be stopped before the process exits.
    { name: 'closing the database', run: () => database.close() },
  ];
  const runStop = async (): Promise<StepFailure[]> => {
    const failures = await runShutdownSteps(stopSteps());
    for (const { step, error } of failures) logger.error({ err: error }, `shutdown: ${step} failed`);
    return failures;
  };

  try {
    let url: string | null = null;
    const apiUrl = () => config.sessions.publicUrl ?? url ?? `http://127.0.0.1:${config.http.port}`;
    const github = createGithubClient(config.github);
    const metrics = createArborMetrics({ db: database.db, logger: logger.child({ component: 'metrics' }) });
    const runner = withObservation(
      withPullRequests(
        makeRunner({ db: database.db, config, logger: logger.child({ component: 'sessions' }), apiUrl }),
        github,
        logger.child({ component: 'github' }),
        database.db,
      ),
      { db: database.db, metrics, logger: logger.child({ component: 'tasks' }), retry: config.orchestrator.retry },
    );
    notifications = new NotificationListener(database.url, EVENTS_CHANNEL, logger);
    await notifications.start();
    // Checked like POST /api/templates; one that does not pass is logged and left out, the rest still start.
    await loadShippedTemplates(database.db, SHIPPED_TEMPLATES_DIR, config.goals, logger.child({ component: 'templates' }));

    if (config.role !== 'worker') {
      const app = createApp({
        dashboard,
        db: database.db,
        logger,
        config,
        notifications,
        shutdown: shuttingDown.signal,
        healthProblem: database.problem,
        goalPreflight: runner.preflight,
        taskDiffs: runner.diffs,
        metricsRegistry: metrics.registry,
      });
      http = await listenHttp(app.fetch, config.http.host, config.http.port);
      url = http.url;
    }
    // After the API listens: agents started from here on are told where it is.
    if (config.role !== 'api') {
      orchestrator = new TaskOrchestrator(
        { db: database.db, runner, logger: logger.child({ component: 'orchestrator' }), notifications },
        { instanceId: config.instanceId, stopGraceMs: SHUTDOWN_GRACE_MS, ...config.orchestrator },
      );
      await orchestrator.start();
      scheduler = new TriggerScheduler(
        { db: database.db, rules: config.goals, logger: logger.child({ component: 'triggers' }) },
        { intervalMs: TRIGGER_TICK_MS },
      );
      scheduler.start();
      // With a token, a CI gate that opens after its checks finished asks the checks API once.
      openingCi = github && new OpeningCiCheck({ db: database.db, github, logger: logger.child({ component: 'github' }) }, { intervalMs: config.orchestrator.pollIntervalMs });
      openingCi?.start();
    }

    // Lifecycle lines and event-derived counters; every role runs one, each event is read by one of them.
    observer = new EventObserver(
      { db: database.db, logger: logger.child({ component: 'lifecycle' }), metrics, notifications },
      { pollMs: config.orchestrator.pollIntervalMs },
    );
    observer.start();
    // Every role may run one: deliveries are claimed in Postgres, so instances share the work.
    if (config.notifications.targets.length > 0) {
      notifier = new Notifier(
        {
          db: database.db,
          logger: logger.child({ component: 'notifications' }),
          notifications,
          publicUrl: apiUrl,
          onAttempt: (outcome) => metrics.notificationAttempts.inc({ outcome }),
        },
        { ...config.notifications, pollMs: config.orchestrator.pollIntervalMs },
      );
      notifier.start();
      logger.info({ targets: config.notifications.targets.map((t) => `${t.format}:${t.host}`) }, 'notifications on');
    }

    logger.info({ url, role: config.role, instance: config.instanceId }, 'arbor listening');

    let stopping: Promise<StepFailure[]> | null = null;
    return {
      url,
      database,
      orchestrator,
      failed: database.lost,
      stop: () => (stopping ??= runStop()),
      hurry: () => orchestrator?.cutDrain(),
    };
  } catch (err) {
    // Whatever started is stopped, the embedded Postgres included, so the data dir is free for the next try.
    await runStop();
    throw err;
  }
}

function bundleInBackground(logger: Logger) {
  const started = performance.now();
  const bundle = bundleDashboard();
  bundle.then(
    (assets) => logger.info({ ms: Math.round(performance.now() - started), first_load_bytes: firstLoadBytes(assets) }, 'dashboard bundled'),
    (err: unknown) => logger.error({ err }, 'the dashboard failed to build; / answers 503'),
  );
  return bundle;
}
