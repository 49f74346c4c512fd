import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

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
  'config.notifications',
];

export type LogFormat = 'json' | 'pretty';

/** ARBOR_LOG_FORMAT `auto`: readable lines for a person at a terminal, JSON for everything that collects logs. */
export function logFormatFor(setting: 'auto' | LogFormat, stdoutIsTty: boolean): LogFormat {
  return setting === 'auto' ? (stdoutIsTty ? 'pretty' : 'json') : setting;
}

/**
 * `json`: one line per record, an error's stack included in the line (the
 * `err` serializer), for log collectors. `pretty`: pino-pretty, in this thread
 * (no worker: the last lines before an exit are not lost).
 */
export function createLogger(level: string, destination?: pino.DestinationStream, format: LogFormat = 'json'): Logger {
  const stream = format === 'pretty' && !destination ? PinoPretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' }) : destination;
  return pino(
    {
      level,
      base: { service: 'arbor' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    stream,
  );
}
