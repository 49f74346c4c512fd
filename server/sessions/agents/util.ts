import { storableJson } from '../../domain/storable-text.js';

/** Small helpers shared by the agent output parsers. Pure. */

/** Longest summary kept from an agent's final message. */
export const MAX_SUMMARY_CHARS = 20_000;
/** Longest text stored for one log line. */
export const MAX_LOG_LINE_CHARS = 8_000;
/** Longest rendering of a tool's input or output inside one log line. */
export const MAX_DETAIL_CHARS = 2_000;

export const TRUNCATED_MARKER = '…[truncated]';

/** Cuts `text` to at most `max` characters, marking the cut. Never splits a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - TRUNCATED_MARKER.length);
  const code = text.charCodeAt(end - 1);
  if (end > 0 && code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end) + TRUNCATED_MARKER;
}

export type JsonObject = Record<string, unknown>;

/**
 * Parses a line that holds one JSON object; null for anything else (plain
 * text, arrays, broken JSON). Its strings are made storable: the line itself
 * is, but a `\u0000` escape inside it is not until parsed.
 */
export function parseJsonObject(line: string): JsonObject | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return null;
  try {
    const value: unknown = JSON.parse(trimmed);
    return isObject(value) ? storableJson(value) : null;
  } catch {
    return null;
  }
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A finite number, or null. */
export function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function obj(value: unknown): JsonObject | null {
  return isObject(value) ? value : null;
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Compact one-line JSON of a value, bounded; never throws. */
export function compactJson(value: unknown, max = MAX_DETAIL_CHARS): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncate(text, max);
}

/** Sum of the numbers present; null when none is. */
export function sumPresent(...values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : present.reduce((a, b) => a + b, 0);
}

/** Removes one trailing carriage return (CRLF output). */
export function stripCr(text: string): string {
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

export function formatUsd(value: number): string {
  return `$${value < 1 ? value.toFixed(4) : value.toFixed(2)}`;
}

/**
 * One line of a JSON-lines agent: stderr and anything that is not a JSON event
 * are logged as they are; an event updates the parser (through `handle`) and
 * is logged as the readable text it returns. Never throws.
 */
export function renderJsonLine(
  stream: 'stdout' | 'stderr',
  raw: string,
  handle: (event: JsonObject) => string | null,
): { text: string; stream: 'stdout' | 'stderr' | 'event' } {
  const text = stripCr(raw);
  const event = stream === 'stdout' ? parseJsonObject(text) : null;
  if (event === null || typeof event.type !== 'string') return { text: truncate(text, MAX_LOG_LINE_CHARS), stream };
  let rendered: string;
  try {
    rendered = handle(event) ?? text;
  } catch {
    rendered = text;
  }
  return { text: truncate(rendered, MAX_LOG_LINE_CHARS), stream: 'event' };
}
