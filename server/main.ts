import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './database-setup.js';
import { createApp } from './http/app.js';
import { createLogger } from './logger.js';

/**
 * Composition root: config -> database (embedded or given) -> migrations ->
 * HTTP. On SIGINT/SIGTERM it stops accepting requests, lets those in flight
 * finish, closes the pool and stops an embedded Postgres, in that order.
 */

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  for (const warning of config.warnings) logger.warn(warning);
  const database = await openDatabase(config, logger);
  const app = createApp({ db: database.db, logger, config });

  const server = serve({ fetch: app.fetch, hostname: config.http.host, port: config.http.port }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ url: `http://${config.http.host}:${port}`, instance: config.instanceId }, 'arbor listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearTimeout(force);
    await database.close();
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
