import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { connectDatabase, type Db } from '../server/db/database.js';
import { startEmbeddedPostgres } from '../server/db/embedded-postgres.js';
import { migrateToLatest } from '../server/db/migrator.js';
import type { Logger } from '../server/logger.js';
import type { Cleanup } from './cleanup.js';
import type { StatementCounter } from './counters.js';
import { note } from './output.js';

/**
 * The database the bench runs on: a fresh, migrated database of its own on
 * DATABASE_URL's server (never the database that URL names, which may hold
 * real data), or else on an embedded Postgres in a temp dir. Either way it is
 * gone when the bench ends.
 */

export interface BenchDatabase {
  db: Db;
  /** Connection string of the bench database (the notification listener needs its own connection). */
  url: string;
}

/** Pool for the orchestrator, its heartbeat and the bench's own goal watcher; the orchestrator's ticks never overlap. */
const POOL_SIZE = 10;

/**
 * The Postgres server the bench's databases live on: DATABASE_URL's, or an
 * embedded one started once for the whole run. Returns an admin URL (never
 * used for data: each measurement gets a database of its own on it).
 */
export async function openBenchServer(cleanup: Cleanup, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return env.DATABASE_URL ? fromUrl(env.DATABASE_URL) : await startEmbedded(cleanup);
}

export async function openBenchDatabase(
  cleanup: Cleanup,
  adminUrl: string,
  logger: Logger,
  counter: StatementCounter,
  options: { explainSlowMs?: number; label?: string; poolSize?: number } = {},
): Promise<BenchDatabase> {
  const name = `arbor_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  cleanup.add(`drop database ${name}`, () => dropDatabase(adminUrl, name));

  if (options.explainSlowMs !== undefined) {
    // Profiling: every connection to this database (set before any is opened) logs
    // the plan of statements slower than this to the server's log. Scoped to the
    // bench database, so the server and its other databases are untouched.
    await adminQuery(adminUrl, `ALTER DATABASE ${name} SET session_preload_libraries = 'auto_explain'`);
    await adminQuery(adminUrl, `ALTER DATABASE ${name} SET auto_explain.log_min_duration = ${options.explainSlowMs}`);
    await adminQuery(adminUrl, `ALTER DATABASE ${name} SET auto_explain.log_analyze = on`);
    // The hot path runs inside plpgsql functions (arbor_dispatch and the rest): their statements are the ones to see.
    await adminQuery(adminUrl, `ALTER DATABASE ${name} SET auto_explain.log_nested_statements = on`);
    note(`profile: plans of statements over ${options.explainSlowMs} ms go to the Postgres server log`);
  }
  const url = withDatabase(adminUrl, name);
  const handle = connectDatabase(url, { poolSize: options.poolSize ?? POOL_SIZE, logger });
  cleanup.add('close the pool', () => handle.close());
  // Before the first query: the pool keeps its connections, and only those opened from now on are counted.
  counter.attach(handle.pool);
  await migrateToLatest(handle.db);
  note(`database${options.label ? ` (${options.label})` : ''}: ${name}, migrated`);
  if (!described) {
    described = true;
    await describeServer(handle.db);
  }
  return { db: handle.db, url };
}

/** The server's settings are the same for every database on it: said once. */
let described = false;

function fromUrl(url: string): string {
  const parsed = new URL(url);
  // Host only: the URL may carry a password, and this line ends up in logs.
  note(`postgres: DATABASE_URL server ${parsed.host}`);
  return url;
}

async function startEmbedded(cleanup: Cleanup): Promise<string> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbor-bench-'));
  cleanup.add(`remove ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
  // mkdtemp makes it 0700; as root, Postgres runs as the postgres user, which must get through it.
  await chmod(dataDir, 0o755);
  // durable: fsync and synchronous commit stay on, as in production, so the figures are honest.
  const embedded = await startEmbeddedPostgres({ dataDir, port: 0, durable: true, log: (m) => note(`embedded: ${m}`) });
  cleanup.add('stop embedded Postgres', () => embedded.stop());
  note(`postgres: embedded (durable) in ${dataDir}, port ${embedded.port}`);
  return embedded.url;
}

async function describeServer(db: Db): Promise<void> {
  const { rows } = await sql<{ version: string; fsync: string; sc: string; sb: string; wal: string }>`
    SELECT version() AS version, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc,
           current_setting('shared_buffers') AS sb, current_setting('wal_sync_method') AS wal`.execute(db);
  const s = rows[0]!;
  note(`postgres: ${s.version}`);
  note(`postgres: fsync=${s.fsync} synchronous_commit=${s.sc} wal_sync_method=${s.wal} shared_buffers=${s.sb}`);
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * pg's Pool.end() resolves once it has asked its clients to end, not once
 * they have: FORCE would then kill backends that are on their way out, and
 * their clients report it as an error. So first wait (briefly) for them to go.
 */
async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'arbor-bench' });
  await client.connect();
  try {
    const deadline = performance.now() + 3000;
    while (performance.now() < deadline) {
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (Number(rows[0]!.n) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** CREATE/DROP DATABASE cannot run inside a transaction or on the database itself: a short admin connection. */
async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'arbor-bench' });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
