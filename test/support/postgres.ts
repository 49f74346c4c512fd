import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connectDatabase } from '../../server/db/database.js';
import { startEmbeddedPostgres } from '../../server/db/embedded-postgres.js';
import { migrateToLatest } from '../../server/db/migrator.js';
import { createLogger } from '../../server/logger.js';

/**
 * The Postgres the tests run against, the first of these that works:
 *   1. DATABASE_URL (CI on a machine with Postgres);
 *   2. a testcontainers Postgres, when a container runtime answers;
 *   3. an embedded Postgres in a temp dir (a fresh machine with nothing).
 * Nothing here is a mock: every test that touches data talks to a real server.
 */

export interface TestPostgres {
  /** Connects to a maintenance database on the server, for CREATE/DROP DATABASE. */
  adminUrl: string;
  templateDatabase: string;
  description: string;
  stop(): Promise<void>;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const server = (await fromEnvironment()) ?? (await fromContainer()) ?? (await fromEmbedded());
  const templateDatabase = `arbor_template_${process.pid}_${Date.now().toString(36)}`;
  await withClient(server.adminUrl, (c) => c.query(`CREATE DATABASE ${templateDatabase}`));
  const handle = connectDatabase(databaseUrl(server.adminUrl, templateDatabase), {
    poolSize: 2,
    logger: createLogger('silent'),
  });
  try {
    await migrateToLatest(handle.db);
  } finally {
    await handle.close();
  }
  return {
    adminUrl: server.adminUrl,
    templateDatabase,
    description: server.description,
    stop: async () => {
      await dropDatabase(server.adminUrl, templateDatabase).catch(() => {});
      await server.stop();
    },
  };
}

interface Server {
  adminUrl: string;
  description: string;
  stop(): Promise<void>;
}

async function fromEnvironment(): Promise<Server | null> {
  // The one place outside server/config.ts that reads the environment: the
  // test harness decides which Postgres the whole run uses.
  const url = process.env.DATABASE_URL;
  if (!url) return null;
  return { adminUrl: url, description: `DATABASE_URL (${new URL(url).host})`, stop: async () => {} };
}

async function fromContainer(): Promise<Server | null> {
  let runtimeAnswers = false;
  try {
    // Imported dynamically: some testcontainers releases crash on import under
    // Node 20, and a machine without a container runtime never needs them.
    const { getContainerRuntimeClient } = await import('testcontainers');
    runtimeAnswers = Boolean(await withTimeout(getContainerRuntimeClient(), 5_000));
  } catch {
    return null;
  }
  if (!runtimeAnswers) return null;
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:15-alpine').start();
  return {
    adminUrl: container.getConnectionUri(),
    description: 'a testcontainers Postgres',
    stop: async () => {
      await container.stop();
    },
  };
}

async function fromEmbedded(): Promise<Server> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbor-test-pg-'));
  const embedded = await startEmbeddedPostgres({ dataDir, port: 0, durable: false });
  return {
    adminUrl: embedded.url,
    description: `an embedded Postgres on port ${embedded.port}`,
    stop: async () => {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  return Promise.race([promise, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms).unref())]);
}
