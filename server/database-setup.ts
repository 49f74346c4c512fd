import type { Config } from './config.js';
import { connectDatabase, type DbHandle } from './db/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded-postgres.js';
import { EmbeddedPostgresSupervisor } from './db/embedded-postgres-supervisor.js';
import { migrateToLatest } from './db/migrator.js';
import type { Logger } from './logger.js';
import { runShutdownSteps, type ShutdownStep } from './shutdown-steps.js';

export interface ReadyDatabase extends DbHandle {
  /** The connection string in use, for connections outside the pool (LISTEN). */
  url: string;
  /** Set when Arbor runs its own Postgres; stopped by `close`. */
  embedded: EmbeddedPostgres | null;
  /** Why the Postgres this process runs is not serving, or null (always null for a DATABASE_URL). */
  problem(): string | null;
  /** Settles when the embedded Postgres is lost for good; never for a DATABASE_URL. */
  lost: Promise<Error>;
  /** Closes the pool, then stops the embedded Postgres: each step runs even if the one before failed. */
  close(): Promise<void>;
}

/** Queries still running at shutdown get this long; then Postgres is stopped under them. */
const POOL_CLOSE_MS = 5_000;

/**
 * The database as configured — DATABASE_URL, or an embedded Postgres under the
 * data dir — connected and migrated to the latest schema.
 */
export async function openDatabase(config: Config, logger: Logger): Promise<ReadyDatabase> {
  let embedded: EmbeddedPostgres | null = null;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      durable: true,
      lockWaitMs: config.dataDirLockWaitMs,
      log: (message) => logger.info(message),
    });
    url = embedded.url;
  }
  const handle = connectDatabase(url, { poolSize: config.dbPoolSize, logger });
  const stopEmbedded: ShutdownStep = { name: 'stopping the embedded Postgres', run: async () => embedded?.stop() };
  try {
    const applied = await migrateToLatest(handle.db);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  } catch (err) {
    await closeInSteps([{ name: 'closing the pool', run: () => handle.close(), deadlineMs: POOL_CLOSE_MS }, stopEmbedded]).catch(
      (cleanup: unknown) => logger.error({ err: cleanup }, 'cleaning up after a failed start'),
    );
    throw err;
  }

  let markLost: (err: Error) => void = () => {};
  const lost = new Promise<Error>((resolve) => (markLost = resolve));
  const supervisor = embedded ? new EmbeddedPostgresSupervisor(embedded, logger.child({ component: 'postgres' }), markLost) : null;
  supervisor?.start();
  return {
    ...handle,
    url,
    embedded,
    problem: () => (supervisor && supervisor.state !== 'running' ? `embedded Postgres is ${supervisor.state}` : null),
    lost,
    close: () =>
      closeInSteps([
        { name: 'stopping the Postgres supervisor', run: async () => supervisor?.stop() },
        { name: 'closing the pool', run: () => handle.close(), deadlineMs: POOL_CLOSE_MS },
        stopEmbedded,
      ]),
  };
}

async function closeInSteps(steps: ShutdownStep[]): Promise<void> {
  const [first] = await runShutdownSteps(steps);
  if (first) throw new Error(`${first.step} failed: ${first.error.message}`, { cause: first.error });
}
