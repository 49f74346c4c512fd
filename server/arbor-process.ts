import { startArbor, type RunnerFactory, type RunningArbor } from './arbor.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger, logFormatFor, type Logger } from './logger.js';

/**
 * Arbor as an OS process: read the config, start, and stop gracefully on
 * SIGINT/SIGTERM or when Arbor cannot go on. The exit code says how it went:
 * 0 after a clean stop, 1 after a failed start, a failed shutdown step, a
 * lost embedded Postgres or an uncaught exception. Whatever happens, the
 * embedded Postgres is stopped before the process exits (only SIGKILL leaves
 * it running, for the next start to adopt).
 */

/** A second signal stops Postgres without waiting for the rest; this long at most. */
const HURRIED_STOP_MS = 10_000;

interface StopRequest {
  reason: string;
  exitCode: number;
}

export async function runArborProcess(makeRunner: RunnerFactory): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `arbor failed to start: ${String(err)}`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, undefined, logFormatFor(config.logFormat, process.stdout.isTTY === true));
  for (const warning of config.warnings) logger.warn(warning);

  // Listening before anything starts: a stop asked for mid-start happens as soon as Arbor is up.
  let arbor: RunningArbor | null = null;
  let requested: StopRequest | null = null;
  const requestStop = (reason: string, exitCode: number) => {
    if (requested) return;
    requested = { reason, exitCode };
    if (arbor) void stopAndExit(arbor, logger, requested);
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (!requested) return requestStop(signal, 0);
    if (signals === 2 && arbor) {
      // The drain waits for running agents; a second signal means "not that long".
      logger.warn({ signal }, 'second signal: stopping running sessions now (a third exits at once)');
      arbor.hurry();
      return;
    }
    logger.warn({ signal }, 'another signal: stopping Postgres and exiting now');
    void exitNow(arbor, logger);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    requestStop('uncaught exception', 1);
  });
  // A promise nobody awaited must not take the server (and its Postgres) down with it.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));

  try {
    arbor = await startArbor(config, logger, makeRunner);
  } catch (err) {
    logger.fatal({ err }, `arbor failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  void arbor.failed.then((err) => {
    logger.fatal({ err }, `arbor cannot go on: ${err.message}`);
    requestStop('embedded Postgres lost', 1);
  });
  if (requested) void stopAndExit(arbor, logger, requested);
}

async function stopAndExit(arbor: RunningArbor, logger: Logger, { reason, exitCode }: StopRequest): Promise<void> {
  logger.info({ reason }, 'shutting down');
  const failures = await arbor.stop();
  logger.info({ failed_steps: failures.map((f) => f.step) }, failures.length === 0 ? 'stopped' : 'stopped with errors');
  process.exit(failures.length > 0 ? 1 : exitCode);
}

async function exitNow(arbor: RunningArbor | null, logger: Logger): Promise<never> {
  const postgres = arbor?.database.embedded?.stop().catch((err: unknown) => logger.error({ err }, 'stopping the embedded Postgres failed'));
  await Promise.race([postgres, new Promise((resolve) => setTimeout(resolve, HURRIED_STOP_MS).unref())]);
  process.exit(1);
}
