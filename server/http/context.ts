import type { RouteConfig, RouteHandler } from '@hono/zod-openapi';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { NotificationListener } from '../db/notification-listener.js';
import type { TaskDiffReader } from '../domain/task-diff.js';
import type { Logger } from '../logger.js';
import type { DashboardAssets } from './dashboard/dashboard-assets.js';
import type { GoalPreflight } from '../orchestrator/session-runner.js';

/** What the HTTP layer is built from; a test passes its own database and settings. */
export interface AppDeps {
  db: Db;
  logger: Logger;
  /** `sessions.publicUrl`: the address the OpenAPI document names as its server. */
  config: Pick<Config, 'http' | 'auth' | 'goals'> & Partial<Pick<Config, 'github'>> & { sessions?: Pick<Config['sessions'], 'publicUrl'> };
  /** Change notifications, for streaming events live; without it streams fall back to polling. */
  notifications?: NotificationListener;
  /**
   * Checks a new goal against what its runs will need (repository, base_ref,
   * agent CLI); a problem is a 422. None: goals are taken as they are (runs
   * that need nothing of the machine, as in scheduling tests).
   */
  goalPreflight?: GoalPreflight;
  /** Renders a task's branch as a diff (the session runner's, which knows where repositories are); none: diffs are unavailable. */
  taskDiffs?: TaskDiffReader;
  /** Aborted when the server shuts down: long-lived streams end instead of holding the shutdown. */
  shutdown?: AbortSignal;
  /** The web dashboard, bundled at start (requests wait while it builds); none: `/` is a 404 (ARBOR_DASHBOARD=off, or a test). */
  dashboard?: DashboardAssets | Promise<DashboardAssets>;
  /** Why a part this process runs itself is not working (its embedded Postgres is down), or null; `/healthz` reports it. */
  healthProblem?: () => string | null;
  /** The process's metrics registry (domain series included), which /metrics serves; none: the app makes its own. */
  metricsRegistry?: Registry;
}

export type Caller = { kind: 'api' } | { kind: 'signal' } | { kind: 'task'; taskId: string; sessionId: string } | { kind: 'anonymous' };

export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    caller: Caller;
  };
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
