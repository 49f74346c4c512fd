import type { ArborClient } from '../client/arbor-client.js';
import type { Values } from './command-line.js';

/** What a command runs with: the client, where its output goes, its arguments. Tests build their own. */
export interface CliContext {
  client: ArborClient;
  /** Standard output. */
  out: Terminal;
  /** Standard error: messages for the person, never data. */
  err(text: string): void;
  stdin: NodeJS.ReadableStream;
  cwd: string;
  now(): Date;
  args: Record<string, string>;
  values: Values;
}

export interface Terminal {
  write(text: string): void;
  /** A person is looking: colours, redraws, widths. Otherwise plain lines. */
  isTTY: boolean;
  columns: number | undefined;
}

export function printLines(ctx: CliContext, lines: string[]): void {
  if (lines.length > 0) ctx.out.write(`${lines.join('\n')}\n`);
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function wantsJson(ctx: CliContext): boolean {
  return ctx.values.json === true;
}

export function stringValue(ctx: CliContext, name: string): string | undefined {
  const value = ctx.values[name];
  return typeof value === 'string' ? value : undefined;
}
