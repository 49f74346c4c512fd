import { startArbor } from './arbor.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createSessionRunner } from './sessions/session-runner-factory.js';

/**
 * Composition root: read the config, start Arbor, and stop it gracefully on
 * SIGINT/SIGTERM (a second signal exits at once).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  for (const warning of config.warnings) logger.warn(warning);
  const arbor = await startArbor(config, logger, createSessionRunner);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await arbor.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', (s) => void shutdown(s));
  process.on('SIGTERM', (s) => void shutdown(s));
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error('arbor failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
