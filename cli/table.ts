/**
 * Text for people: aligned tables, ages, costs. Pure; the commands decide
 * what goes in.
 */

/** Rows under a header, columns padded to their widest cell; the last column is not padded. */
export function renderTable(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => displayWidth(row[column] ?? ''))));
  return all.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell + ' '.repeat(widths[column]! - displayWidth(cell))))
      .join('  ')
      .trimEnd(),
  );
}

/** How long ago, in the largest whole unit: 45s, 12m, 3h, 5d. */
export function formatAge(since: string, now: Date): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(since)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** Dollars with cents, or a dash when nothing was spent (most goals run agents that report no cost). */
export function formatCost(usd: number): string {
  if (usd <= 0) return '-';
  return usd < 0.01 ? '<$0.01' : `$${usd.toFixed(2)}`;
}

/** Cut to `width` columns with an ellipsis; unchanged when it fits or no width is known. */
export function fitWidth(line: string, width: number | undefined): string {
  if (width === undefined || width <= 0 || displayWidth(line) <= width) return line;
  return `${[...line].slice(0, Math.max(0, width - 1)).join('')}…`;
}

/** Columns a string takes: code points, colour codes not counted. */
export function displayWidth(text: string): number {
  return [...stripColour(text)].length;
}

export function stripColour(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
