import { pino } from 'pino';
import { createLogger, type Logger } from '../server/logger.js';

/**
 * stdout carries only figures, one per line as `<name> <value> <unit>`, so a
 * script can read them; everything else (context, progress, server warnings)
 * goes to stderr.
 */

export function figure(name: string, value: number, unit: string, digits: number): void {
  process.stdout.write(`${name} ${value.toFixed(digits)} ${unit}\n`);
}

export function note(message: string): void {
  process.stderr.write(`# ${message}\n`);
}

/** Server code logs through pino; pointed at stderr it cannot mix into the figures. Warnings only. */
export function stderrLogger(): Logger {
  return createLogger('warn', pino.destination({ fd: 2, sync: true }));
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
