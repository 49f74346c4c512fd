import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './database-setup.js';
import { createLogger } from './logger.js';

/** `npm run migrate`: bring the configured database to the latest schema and exit. */
async function migrate(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase(config, createLogger(config.logLevel));
  await database.close();
}

migrate().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : `migration failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
