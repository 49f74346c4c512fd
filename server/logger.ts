import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one logger. Redaction is a safety net: the code never logs headers or
 * tokens on purpose, but a stray object carrying one must not reach the log.
 */
export const REDACTED_PATHS = [
  'authorization',
  'token',
  'secret',
  'password',
  '*.authorization',
  '*.token',
  '*.secret',
  '*.password',
  'cookie',
  '*.cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  'headers["x-internal-token"]',
  'headers["x-hub-signature-256"]',
  '*.headers.authorization',
  '*.headers["x-internal-token"]',
  '*.headers["x-hub-signature-256"]',
  'config.auth',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'arbor' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
