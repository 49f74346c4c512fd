/** Splits rows for multi-row INSERTs: one statement may bind at most 65,535 parameters. */
export function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** What one bounded pass over a backlog did, and whether another pass may find more. */
export interface SweepResult {
  count: number;
  more: boolean;
}
