import type { Config } from './config.js';
import { connectDatabase, type DbHandle } from './db/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded-postgres.js';
import { migrateToLatest } from './db/migrator.js';
import type { Logger } from './logger.js';

export interface ReadyDatabase extends DbHandle {
  /** The connection string in use, for connections outside the pool (LISTEN). */
  url: string;
  /** Set when Arbor runs its own Postgres; stopped by `close`. */
  embedded: EmbeddedPostgres | null;
}

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
      log: (message) => logger.info(message),
    });
    url = embedded.url;
  }
  const handle = connectDatabase(url, { poolSize: config.dbPoolSize, logger });
  try {
    const applied = await migrateToLatest(handle.db);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  } catch (err) {
    await handle.close();
    await embedded?.stop();
    throw err;
  }
  return {
    ...handle,
    url,
    embedded,
    close: async () => {
      await handle.close();
      await embedded?.stop();
    },
  };
}
