import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseNotificationTargets, type NotificationTarget } from './domain/notifications.js';
import { AGENTS, type AgentName } from './domain/states.js';

/**
 * Every setting Arbor has, parsed once from the environment. Nothing else in the
 * server reads `process.env`: components receive the slice of `Config` they need,
 * so a test can build the whole system from a literal object.
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

const optionalSecret = z.string().min(16, 'must be at least 16 characters').optional();

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Agents run this much nicer than Arbor unless ARBOR_AGENT_NICE says otherwise. */
export const DEFAULT_AGENT_NICE = 10;

/** Secrets that may also be given as a file named by `<name>_FILE`, so they need not sit in Arbor's environment. */
const SECRETS_FROM_FILES = [
  'DATABASE_URL',
  'ARBOR_API_TOKEN',
  'ARBOR_SIGNAL_TOKEN',
  'ARBOR_GITHUB_WEBHOOK_SECRET',
  'ARBOR_GITHUB_WEBHOOK_SECRET_OLD',
  'ARBOR_GITHUB_TOKEN',
  // Webhook URLs are secrets (a Slack one is its own credential): kept from agents, may come from a file.
  'ARBOR_NOTIFY_URLS',
] as const;
type SecretFileVariable = `${(typeof SECRETS_FROM_FILES)[number]}_FILE`;

function secretFileVariables(): Record<SecretFileVariable, z.ZodOptional<z.ZodString>> {
  return Object.fromEntries(SECRETS_FROM_FILES.map((name) => [`${name}_FILE`, z.string().min(1).optional()])) as Record<
    SecretFileVariable,
    z.ZodOptional<z.ZodString>
  >;
}

/** Where the server listens unless PORT says otherwise; the CLI's default ARBOR_URL points here too. */
export const DEFAULT_PORT = 8080;

/** Read by the `arbor` CLI, not the server: set in the same shell, they are no typo. */
const CLIENT_VARIABLES = ['ARBOR_URL'];

/** The environment variables Arbor reads, with their defaults. Exported for the docs and the compose test. */
export const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(DEFAULT_PORT),
  ARBOR_DATA_DIR: z.string().min(1).default('.arbor'),
  ARBOR_EMBEDDED_PG_PORT: int(0, 65535).default(0),
  ARBOR_DATA_DIR_LOCK_WAIT_S: int(0, 3600).default(90),
  ARBOR_SHUTDOWN_DRAIN_S: int(0, 86_400).default(30),
  ARBOR_API_TOKEN: optionalSecret,
  ARBOR_SIGNAL_TOKEN: optionalSecret,
  ARBOR_SIGN_IN_TTL_H: int(1, 8760).default(168),
  ARBOR_GITHUB_WEBHOOK_SECRET: optionalSecret,
  ARBOR_GITHUB_WEBHOOK_SECRET_OLD: optionalSecret,
  ARBOR_GITHUB_TOKEN: optionalSecret,
  ARBOR_GITHUB_API_URL: z.string().url().default('https://api.github.com'),
  ARBOR_INSTANCE_ID: z.string().min(1).max(200).optional(),
  ARBOR_AGENT: z.enum(AGENTS).default('claude'),
  ARBOR_BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  ARBOR_MAX_TASKS_PER_GOAL: int(1, 1_000_000).default(10_000),
  ARBOR_MAX_TREE_DEPTH: int(1, 256).default(32),
  ARBOR_DB_POOL_SIZE: int(1, 200).default(10),
  ARBOR_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  ARBOR_DASHBOARD: z.enum(['on', 'off']).default('on'),
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
  ARBOR_AGENT_NICE: int(0, 19).default(DEFAULT_AGENT_NICE),
  ARBOR_RESULT_GRACE_MS: int(0, 600_000).default(2000),
  ARBOR_SESSION_LOG_MAX_LINES: int(100, 10_000_000).default(20_000),
  ARBOR_PORT_BASE: int(1024, 65535).optional(),
  ARBOR_PORTS_PER_SESSION: int(1, 1000).default(10),
  ARBOR_CLAUDE_BIN: z.string().min(1).default('claude'),
  ARBOR_CLAUDE_PERMISSION_MODE: z.string().min(1).default('acceptEdits'),
  ARBOR_CLAUDE_ARGS: z.string().optional(),
  // What claude may run without asking, besides Arbor's own tools: acceptEdits alone refuses every command.
  ARBOR_CLAUDE_ALLOWED_TOOLS: z.string().default('Bash'),
  ARBOR_CODEX_BIN: z.string().min(1).default('codex'),
  ARBOR_CODEX_SANDBOX: z.string().min(1).default('workspace-write'),
  ARBOR_CODEX_ARGS: z.string().optional(),
  ARBOR_AGENT_COMMAND: z.string().optional(),
  ARBOR_ON_PERMISSION_DENIAL: z.enum(['fail', 'note']).default('fail'),
  ARBOR_AGENT_USER: z
    .string()
    .regex(/^(\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/, 'must be a user name or a numeric uid')
    .optional(),
  ARBOR_NOTIFY_URLS: z.string().optional(),
  ARBOR_NOTIFY_TIMEOUT_MS: int(100, 300_000).default(10_000),
  ARBOR_NOTIFY_MAX_ATTEMPTS: int(1, 1000).default(10),
  ARBOR_NOTIFY_RETRY_BASE_MS: int(10, 3_600_000).default(5000),
  ARBOR_NOTIFY_RETRY_MAX_MS: int(10, 86_400_000).default(3_600_000),
  ...secretFileVariables(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ARBOR_LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
});


export interface Config {
  /** Things worth telling the operator at start-up, such as unknown ARBOR_* variables (likely typos). */
  warnings: string[];
  /** Absent: run an embedded Postgres with its data under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPostgresPort: number;
  /** How long a start waits for another Arbor to let go of the same data dir. */
  dataDirLockWaitMs: number;
  /** On a stop, how long running sessions may finish before they are stopped; nothing new starts meanwhile. */
  shutdownDrainMs: number;
  dbPoolSize: number;
  instanceId: string;
  /** `api` serves HTTP only, `worker` runs the orchestrator only; `all` both. */
  role: 'all' | 'api' | 'worker';
  http: { host: string; port: number; bodyLimitBytes: number };
  /** Serve the web dashboard at `/` (bundled once at start); off: `/` is a 404 and nothing is bundled. */
  dashboard: boolean;
  orchestrator: {
    maxSessions: number;
    leaseMs: number;
    pollIntervalMs: number;
    retry: { baseDelayMs: number; maxDelayMs: number };
    spawnPerSecond: number;
    spawnBurst: number;
  };
  /** signInTtlS: how long a dashboard sign-in (its cookie) lasts; absent: a week. */
  auth: { apiToken?: string; signalToken?: string; githubWebhookSecret?: string; githubWebhookSecretOld?: string; signInTtlS?: number };
  /**
   * GitHub's REST API (or an Enterprise server's, `https://<host>/api/v3`). Without a token Arbor opens no
   * pull requests and takes CI webhooks at their word; with one it asks the checks API for the verdict.
   */
  github: { apiUrl: string; token?: string };
  sessions: {
    /** How agents reach the API (ARBOR_API_URL in their environment); null: the address this process listens on. */
    publicUrl: string | null;
    worktreeRoot: string;
    keepFailedWorktrees: boolean;
    taskTimeoutMs: number;
    stallTimeoutMs: number;
    killGraceMs: number;
    /** Scheduling niceness of agent processes: Arbor, its API and its database stay responsive however busy agents keep the CPU. */
    agentNice: number;
    resultGraceMs: number;
    logMaxLines: number;
    ports: { base: number; perSession: number } | null;
    /** Raw agent CLI settings; argv strings are split by the agents module. */
    /** allowedTools: ARBOR_CLAUDE_ALLOWED_TOOLS split at commas (a rule such as `Bash(git commit:*)` keeps its spaces). */
    claude: { bin: string; permissionMode: string; allowedTools: string[]; args: string };
    codex: { bin: string; sandbox: string; args: string };
    command: string;
    /** What a run whose agent was denied a tool comes to: failed, or succeeded with the denials noted in its result. */
    onPermissionDenial: 'fail' | 'note';
    /** ARBOR_AGENT_USER as given (a user name or uid); null: agents run as Arbor's own user. Resolved by the session runner. */
    agentUser: string | null;
    /** The environment agents inherit: Arbor's own secrets and database URL removed. */
    baseEnv: Record<string, string>;
  };
  goals: { defaultAgent: AgentName; maxTasksPerGoal: number; maxTreeDepth: number };
  /** Where Arbor POSTs when a task needs a person or a goal ends; no targets, no notifier. */
  notifications: {
    targets: NotificationTarget[];
    timeoutMs: number;
    maxAttempts: number;
    backoff: { baseMs: number; maxMs: number };
  };
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** `auto`: pretty when stdout is a terminal, JSON otherwise. */
  logFormat: 'auto' | 'json' | 'pretty';
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set" for every setting alike (`PORT=` is the
  // default port, not port 0).
  const given = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
  const secrets = readSecretFiles(given);
  const parsed = envSchema.safeParse({ ...given, ...secrets.values });
  const problems = [...secrets.problems];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path.join('.');
      problems.push(`${secrets.values[name] !== undefined ? `${name} (from ${name}_FILE)` : name}: ${issue.message}`);
    }
  }
  if (!parsed.success || problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  }
  const e = parsed.data;
  const notify = parseNotificationTargets(e.ARBOR_NOTIFY_URLS ?? '');
  if (notify.problems.length > 0) {
    const from = secrets.values.ARBOR_NOTIFY_URLS !== undefined ? 'ARBOR_NOTIFY_URLS (from ARBOR_NOTIFY_URLS_FILE)' : 'ARBOR_NOTIFY_URLS';
    throw new ConfigError(`invalid configuration:\n${notify.problems.map((p) => `  ${from}: ${p}`).join('\n')}`);
  }
  const known = new Set([...Object.keys(envSchema.shape), ...CLIENT_VARIABLES]);
  const unknown = Object.keys(given).filter((name) => name.startsWith('ARBOR_') && !known.has(name));
  const config: Config = {
    warnings: [...unknown.map((name) => `${name} is not a setting Arbor knows; is it misspelt?`), ...secrets.warnings],
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.ARBOR_DATA_DIR),
    embeddedPostgresPort: e.ARBOR_EMBEDDED_PG_PORT,
    dataDirLockWaitMs: e.ARBOR_DATA_DIR_LOCK_WAIT_S * 1000,
    shutdownDrainMs: e.ARBOR_SHUTDOWN_DRAIN_S * 1000,
    dbPoolSize: e.ARBOR_DB_POOL_SIZE,
    instanceId: e.ARBOR_INSTANCE_ID ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    role: e.ARBOR_ROLE,
    http: { host: e.HOST, port: e.PORT, bodyLimitBytes: e.ARBOR_BODY_LIMIT_BYTES },
    dashboard: e.ARBOR_DASHBOARD === 'on',
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
      signInTtlS: e.ARBOR_SIGN_IN_TTL_H * 3600,
    },
    github: { apiUrl: e.ARBOR_GITHUB_API_URL.replace(/\/+$/, ''), token: e.ARBOR_GITHUB_TOKEN },
    sessions: {
      publicUrl: e.ARBOR_PUBLIC_URL ?? null,
      worktreeRoot: path.resolve(e.ARBOR_WORKTREE_ROOT ?? path.join(e.ARBOR_DATA_DIR, 'worktrees')),
      keepFailedWorktrees: e.ARBOR_KEEP_FAILED_WORKTREES === 'true' || e.ARBOR_KEEP_FAILED_WORKTREES === '1',
      taskTimeoutMs: e.ARBOR_TASK_TIMEOUT_S * 1000,
      stallTimeoutMs: e.ARBOR_STALL_TIMEOUT_S * 1000,
      killGraceMs: e.ARBOR_KILL_GRACE_MS,
      agentNice: e.ARBOR_AGENT_NICE,
      resultGraceMs: e.ARBOR_RESULT_GRACE_MS,
      logMaxLines: e.ARBOR_SESSION_LOG_MAX_LINES,
      ports: e.ARBOR_PORT_BASE ? { base: e.ARBOR_PORT_BASE, perSession: e.ARBOR_PORTS_PER_SESSION } : null,
      claude: {
        bin: e.ARBOR_CLAUDE_BIN,
        permissionMode: e.ARBOR_CLAUDE_PERMISSION_MODE,
        // An empty variable counts as unset, so `none` is how to allow nothing beyond edits and Arbor's tools.
        allowedTools: e.ARBOR_CLAUDE_ALLOWED_TOOLS.trim() === 'none' ? [] : e.ARBOR_CLAUDE_ALLOWED_TOOLS.split(',').map((t) => t.trim()).filter((t) => t !== ''),
        args: e.ARBOR_CLAUDE_ARGS ?? '',
      },
      codex: { bin: e.ARBOR_CODEX_BIN, sandbox: e.ARBOR_CODEX_SANDBOX, args: e.ARBOR_CODEX_ARGS ?? '' },
      command: e.ARBOR_AGENT_COMMAND ?? '',
      onPermissionDenial: e.ARBOR_ON_PERMISSION_DENIAL,
      agentUser: e.ARBOR_AGENT_USER ?? null,
      baseEnv: agentEnvironment(env),
    },
    goals: {
      defaultAgent: e.ARBOR_AGENT,
      maxTasksPerGoal: e.ARBOR_MAX_TASKS_PER_GOAL,
      maxTreeDepth: e.ARBOR_MAX_TREE_DEPTH,
    },
    notifications: {
      targets: notify.targets,
      timeoutMs: e.ARBOR_NOTIFY_TIMEOUT_MS,
      maxAttempts: e.ARBOR_NOTIFY_MAX_ATTEMPTS,
      backoff: { baseMs: e.ARBOR_NOTIFY_RETRY_BASE_MS, maxMs: Math.max(e.ARBOR_NOTIFY_RETRY_MAX_MS, e.ARBOR_NOTIFY_RETRY_BASE_MS) },
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.ARBOR_LOG_FORMAT,
  };
  assertSafeListener(config);
  return config;
}

/**
 * Variables an agent must never inherit: they would hand it the whole API or the database.
 * (The *_FILE ones only name files it cannot read as another user; it has no use for them either.)
 */
const WITHHELD_FROM_AGENTS = new Set<string>([...SECRETS_FROM_FILES, ...SECRETS_FROM_FILES.map((name) => `${name}_FILE`)]);

/**
 * `<name>_FILE` read into `<name>` (surrounding whitespace dropped: files usually end in a newline).
 * A file other users may read is refused: an agent running as another user could read it too.
 * One its group may read is allowed with a warning (the group may be meant to).
 */
function readSecretFiles(given: Record<string, string>): { values: Record<string, string>; problems: string[]; warnings: string[] } {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const name of SECRETS_FROM_FILES) {
    const variable = `${name}_FILE`;
    const file = given[variable];
    if (file === undefined) continue;
    if (given[name] !== undefined) {
      problems.push(`${variable}: ${name} is set as well; give one of the two`);
      continue;
    }
    let content: string;
    let mode: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw Object.assign(new Error('not a file'), { code: 'not a regular file' });
      mode = stat.mode & 0o777;
      content = readFileSync(file, 'utf8').trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      problems.push(`${variable}: cannot read ${file} (${code})`);
      continue;
    }
    const shown = mode.toString(8).padStart(4, '0');
    if (mode & 0o004) {
      problems.push(`${variable}: ${file} is readable by every user (mode ${shown}); chmod 600 it`);
    } else if (content === '') {
      problems.push(`${variable}: ${file} is empty`);
    } else {
      if (mode & 0o040) warnings.push(`${variable}: ${file} is readable by its group (mode ${shown}); chmod 600 it unless that group should read it`);
      values[name] = content;
    }
  }
  return { values, problems, warnings };
}

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
