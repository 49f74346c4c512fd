import { sql } from 'kysely';
import type { Config } from '../../server/config.js';
import type { Db } from '../../server/db/database.js';
import { createApp } from '../../server/http/app.js';
import { createLogger } from '../../server/logger.js';

export type TestConfig = Pick<Config, 'http' | 'auth' | 'goals'> & Partial<Pick<Config, 'github'>>;

export function testConfig(overrides: { auth?: Config['auth']; http?: Partial<Config['http']>; goals?: Partial<Config['goals']> } = {}): TestConfig {
  return {
    http: { host: '127.0.0.1', port: 0, bodyLimitBytes: 1024 * 1024, ...overrides.http },
    auth: overrides.auth ?? {},
    goals: { defaultAgent: 'claude', maxTasksPerGoal: 10_000, maxTreeDepth: 32, ...overrides.goals },
  };
}

export function testApp(db: Db, config: TestConfig = testConfig()) {
  return createApp({ db, logger: createLogger('silent'), config });
}

/** JSON request helper over `app.request()`: no network, the real app. */
export async function call(
  app: ReturnType<typeof testApp>,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await app.request(path, init);
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** Row counts of every table a request could write to: "nothing changed" is these staying equal. */
export interface RowCounts {
  goals: number;
  tasks: number;
  edges: number;
  gatekeys: number;
  events: number;
  movedgoals: number;
  movedtasks: number;
}

export async function rowCounts(db: Db): Promise<RowCounts> {
  const { rows } = await sql<Record<keyof RowCounts, string>>`
    SELECT (SELECT count(*) FROM goals) AS goals,
           (SELECT count(*) FROM tasks) AS tasks,
           (SELECT count(*) FROM task_dependencies) AS edges,
           (SELECT count(*) FROM task_gate_keys) AS gatekeys,
           (SELECT count(*) FROM events) AS events,
           (SELECT count(*) FROM goals WHERE status <> 'pending') AS movedgoals,
           (SELECT count(*) FROM tasks WHERE status <> 'pending') AS movedtasks`.execute(db);
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)])) as unknown as RowCounts;
}

/** The goal of the design document, section 7. */
export function designGoal(repo = '/srv/repos/web') {
  return {
    title: 'Add dark mode',
    description: 'Dark theme across the app',
    repo,
    base_ref: 'main',
    agent: 'claude',
    max_parallel: 4,
    tasks: [
      { key: 'plan', title: 'Plan', instructions: 'Write the plan', session_policy: 'pinned' },
      {
        key: 'build',
        title: 'Build',
        depends_on: ['plan'],
        children_mode: 'parallel',
        children: [
          { key: 'api', title: 'API', instructions: 'Theme endpoint' },
          { key: 'ui', title: 'UI', instructions: 'Toggle' },
        ],
      },
      { key: 'ci', title: 'CI green', kind: 'wait_for_signal', depends_on: ['build'], gate: { type: 'gh_ci', repo: 'acme/web', pr: 42 } },
      { key: 'ok', title: 'Sign-off', kind: 'human_review', depends_on: ['ci'] },
    ],
  };
}
