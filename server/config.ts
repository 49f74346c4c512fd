import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AGENTS, type AgentName } from './domain/states.js';

/**
 * Every setting Arbor has, parsed once from the environment. Nothing else in the
 * server reads `process.env`: components receive the slice of `Config` they need,
 * so a test can build the whole system from a literal object.
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

const optionalSecret = z.string().min(16, 'must be at least 16 characters').optional();

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The environment variables Arbor reads, with their defaults. Exported for the docs and the compose test. */
export const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(8080),
  ARBOR_DATA_DIR: z.string().min(1).default('.arbor'),
  ARBOR_EMBEDDED_PG_PORT: int(0, 65535).default(0),
  ARBOR_API_TOKEN: optionalSecret,
  ARBOR_SIGNAL_TOKEN: optionalSecret,
  ARBOR_GITHUB_WEBHOOK_SECRET: optionalSecret,
  ARBOR_GITHUB_WEBHOOK_SECRET_OLD: optionalSecret,
  ARBOR_INSTANCE_ID: z.string().min(1).max(200).optional(),
  ARBOR_AGENT: z.enum(AGENTS).default('claude'),
  ARBOR_BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  ARBOR_MAX_TASKS_PER_GOAL: int(1, 1_000_000).default(10_000),
  ARBOR_MAX_TREE_DEPTH: int(1, 256).default(32),
  ARBOR_DB_POOL_SIZE: int(1, 200).default(10),
  ARBOR_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  ARBOR_MAX_SESSIONS: int(1, 10_000).default(8),
  ARBOR_LEASE_MS: int(1000, 3_600_000).default(30_000),
  ARBOR_POLL_INTERVAL_MS: int(10, 60_000).default(1000),
  ARBOR_RETRY_BASE_MS: int(0, 3_600_000).default(5000),
  ARBOR_RETRY_MAX_MS: int(0, 86_400_000).default(300_000),
  ARBOR_SPAWN_PER_SECOND: z.coerce.number().min(0).max(10_000).default(2),
  ARBOR_SPAWN_BURST: int(1, 10_000).default(4),
  ARBOR_PUBLIC_URL: z.string().url().optional(),
  ARBOR_WORKTREE_ROOT: z.string().min(1).optional(),
  ARBOR_KEEP_FAILED_WORKTREES: z.enum(['true', 'false', '1', '0']).default('false'),
  ARBOR_TASK_TIMEOUT_S: int(1, 7200).default(1800),
  ARBOR_STALL_TIMEOUT_S: int(0, 7200).default(600),
  ARBOR_KILL_GRACE_MS: int(0, 600_000).default(5000),
  ARBOR_RESULT_GRACE_MS: int(0, 600_000).default(2000),
  ARBOR_SESSION_LOG_MAX_LINES: int(100, 10_000_000).default(20_000),
  ARBOR_PORT_BASE: int(1024, 65535).optional(),
  ARBOR_PORTS_PER_SESSION: int(1, 1000).default(10),
  ARBOR_CLAUDE_BIN: z.string().min(1).default('claude'),
  ARBOR_CLAUDE_PERMISSION_MODE: z.string().min(1).default('acceptEdits'),
  ARBOR_CLAUDE_ARGS: z.string().optional(),
  ARBOR_CODEX_BIN: z.string().min(1).default('codex'),
  ARBOR_CODEX_SANDBOX: z.string().min(1).default('workspace-write'),
  ARBOR_CODEX_ARGS: z.string().optional(),
  ARBOR_AGENT_COMMAND: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});


export interface Config {
  /** Things worth telling the operator at start-up, such as unknown ARBOR_* variables (likely typos). */
  warnings: string[];
  /** Absent: run an embedded Postgres with its data under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPostgresPort: number;
  dbPoolSize: number;
  instanceId: string;
  /** `api` serves HTTP only, `worker` runs the orchestrator only; `all` both. */
  role: 'all' | 'api' | 'worker';
  http: { host: string; port: number; bodyLimitBytes: number };
  orchestrator: {
    maxSessions: number;
    leaseMs: number;
    pollIntervalMs: number;
    retry: { baseDelayMs: number; maxDelayMs: number };
    spawnPerSecond: number;
    spawnBurst: number;
  };
  auth: { apiToken?: string; signalToken?: string; githubWebhookSecret?: string; githubWebhookSecretOld?: string };
  sessions: {
    /** How agents reach the API (ARBOR_API_URL in their environment); null: the address this process listens on. */
    publicUrl: string | null;
    worktreeRoot: string;
    keepFailedWorktrees: boolean;
    taskTimeoutMs: number;
    stallTimeoutMs: number;
    killGraceMs: number;
    resultGraceMs: number;
    logMaxLines: number;
    ports: { base: number; perSession: number } | null;
    /** Raw agent CLI settings; argv strings are split by the agents module. */
    claude: { bin: string; permissionMode: string; args: string };
    codex: { bin: string; sandbox: string; args: string };
    command: string;
    /** The environment agents inherit: Arbor's own secrets and database URL removed. */
    baseEnv: Record<string, string>;
  };
  goals: { defaultAgent: AgentName; maxTasksPerGoal: number; maxTreeDepth: number };
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set" for every setting alike (`PORT=` is the
  // default port, not port 0).
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const known = new Set(Object.keys(envSchema.shape));
  const unknown = Object.keys(given).filter((name) => name.startsWith('ARBOR_') && !known.has(name));
  const config: Config = {
    warnings: unknown.map((name) => `${name} is not a setting Arbor knows; is it misspelt?`),
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.ARBOR_DATA_DIR),
    embeddedPostgresPort: e.ARBOR_EMBEDDED_PG_PORT,
    dbPoolSize: e.ARBOR_DB_POOL_SIZE,
    instanceId: e.ARBOR_INSTANCE_ID ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    role: e.ARBOR_ROLE,
    http: { host: e.HOST, port: e.PORT, bodyLimitBytes: e.ARBOR_BODY_LIMIT_BYTES },
    orchestrator: {
      maxSessions: e.ARBOR_MAX_SESSIONS,
      leaseMs: e.ARBOR_LEASE_MS,
      pollIntervalMs: e.ARBOR_POLL_INTERVAL_MS,
      retry: { baseDelayMs: e.ARBOR_RETRY_BASE_MS, maxDelayMs: e.ARBOR_RETRY_MAX_MS },
      spawnPerSecond: e.ARBOR_SPAWN_PER_SECOND,
      spawnBurst: e.ARBOR_SPAWN_BURST,
    },
    auth: {
      apiToken: e.ARBOR_API_TOKEN,
      signalToken: e.ARBOR_SIGNAL_TOKEN,
      githubWebhookSecret: e.ARBOR_GITHUB_WEBHOOK_SECRET,
      githubWebhookSecretOld: e.ARBOR_GITHUB_WEBHOOK_SECRET_OLD,
    },
    sessions: {
      publicUrl: e.ARBOR_PUBLIC_URL ?? null,
      worktreeRoot: path.resolve(e.ARBOR_WORKTREE_ROOT ?? path.join(e.ARBOR_DATA_DIR, 'worktrees')),
      keepFailedWorktrees: e.ARBOR_KEEP_FAILED_WORKTREES === 'true' || e.ARBOR_KEEP_FAILED_WORKTREES === '1',
      taskTimeoutMs: e.ARBOR_TASK_TIMEOUT_S * 1000,
      stallTimeoutMs: e.ARBOR_STALL_TIMEOUT_S * 1000,
      killGraceMs: e.ARBOR_KILL_GRACE_MS,
      resultGraceMs: e.ARBOR_RESULT_GRACE_MS,
      logMaxLines: e.ARBOR_SESSION_LOG_MAX_LINES,
      ports: e.ARBOR_PORT_BASE ? { base: e.ARBOR_PORT_BASE, perSession: e.ARBOR_PORTS_PER_SESSION } : null,
      claude: { bin: e.ARBOR_CLAUDE_BIN, permissionMode: e.ARBOR_CLAUDE_PERMISSION_MODE, args: e.ARBOR_CLAUDE_ARGS ?? '' },
      codex: { bin: e.ARBOR_CODEX_BIN, sandbox: e.ARBOR_CODEX_SANDBOX, args: e.ARBOR_CODEX_ARGS ?? '' },
      command: e.ARBOR_AGENT_COMMAND ?? '',
      baseEnv: agentEnvironment(env),
    },
    goals: {
      defaultAgent: e.ARBOR_AGENT,
      maxTasksPerGoal: e.ARBOR_MAX_TASKS_PER_GOAL,
      maxTreeDepth: e.ARBOR_MAX_TREE_DEPTH,
    },
    logLevel: e.LOG_LEVEL,
  };
  assertSafeListener(config);
  return config;
}

/** Variables an agent must never inherit: they would hand it the whole API or the database. */
const WITHHELD_FROM_AGENTS = new Set([
  'DATABASE_URL',
  'ARBOR_API_TOKEN',
  'ARBOR_SIGNAL_TOKEN',
  'ARBOR_GITHUB_WEBHOOK_SECRET',
  'ARBOR_GITHUB_WEBHOOK_SECRET_OLD',
]);

function agentEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && !WITHHELD_FROM_AGENTS.has(entry[0])),
  );
}

/** An API reachable from other machines must not be open to anyone who finds it. */
function assertSafeListener(config: Config): void {
  if (!LOOPBACK_HOSTS.has(config.http.host) && !config.auth.apiToken) {
    throw new ConfigError(
      `invalid configuration:\n  HOST: ${config.http.host} is not a loopback address; set ARBOR_API_TOKEN to listen there`,
    );
  }
}
