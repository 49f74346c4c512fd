import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { NotificationListener } from './db/notification-listener.js';
import { openDatabase, type ReadyDatabase } from './database-setup.js';
import { createApp } from './http/app.js';
import type { Logger } from './logger.js';
import type { SessionRunner } from './orchestrator/session-runner.js';
import { TaskOrchestrator } from './orchestrator/task-orchestrator.js';
import { EVENTS_CHANNEL } from './store/events.js';

/**
 * One running Arbor: database (embedded or given) -> migrations -> change
 * notifications -> orchestrator (unless `role` is `api`) -> HTTP (unless it is
 * `worker`). `stop()` undoes it in reverse: no new requests, in-flight ones
 * finish, the orchestrator hands its running tasks back, then the database
 * goes.
 */
export interface RunningArbor {
  /** Where the API listens; null for a worker. */
  url: string | null;
  database: ReadyDatabase;
  orchestrator: TaskOrchestrator | null;
  stop(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 10_000;

/** Builds the runner once the database is open: real sessions record themselves there. */
export type RunnerFactory = (deps: {
  db: ReadyDatabase['db'];
  config: Config;
  logger: Logger;
  /** Where agents reach the API; known once the HTTP server listens. */
  apiUrl: () => string;
}) => SessionRunner;

export async function startArbor(config: Config, logger: Logger, makeRunner: RunnerFactory): Promise<RunningArbor> {
  const database = await openDatabase(config, logger);
  let url: string | null = null;
  const apiUrl = () => config.sessions.publicUrl ?? url ?? `http://127.0.0.1:${config.http.port}`;
  const runner = makeRunner({ db: database.db, config, logger: logger.child({ component: 'sessions' }), apiUrl });
  const notifications = new NotificationListener(database.url, EVENTS_CHANNEL, logger);
  await notifications.start();

  let server: Server | null = null;
  const shuttingDown = new AbortController();
  if (config.role !== 'worker') {
    const app = createApp({ db: database.db, logger, config, notifications, shutdown: shuttingDown.signal, goalPreflight: runner.preflight });
    server = serve({ fetch: app.fetch, hostname: config.http.host, port: config.http.port }) as Server;
    await new Promise<void>((resolve, reject) => {
      server!.once('listening', resolve);
      server!.once('error', reject);
    });
    const { port } = server.address() as AddressInfo;
    url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;
  }
  // After the API listens: agents started from here on are told where it is.
  let orchestrator: TaskOrchestrator | null = null;
  if (config.role !== 'api') {
    orchestrator = new TaskOrchestrator(
      { db: database.db, runner, logger: logger.child({ component: 'orchestrator' }), notifications },
      { instanceId: config.instanceId, stopGraceMs: SHUTDOWN_GRACE_MS, ...config.orchestrator },
    );
    await orchestrator.start();
  }

  logger.info({ url, role: config.role, instance: config.instanceId }, 'arbor listening');

  return {
    url,
    database,
    orchestrator,
    stop: async () => {
      if (server) {
        const force = setTimeout(() => server!.closeAllConnections(), SHUTDOWN_GRACE_MS);
        // Streams end themselves on this; idle keep-alives close now, anything else at the deadline.
        shuttingDown.abort();
        server.closeIdleConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
        clearTimeout(force);
      }
      await orchestrator?.stop();
      await notifications.stop();
      await database.close();
    },
  };
}
