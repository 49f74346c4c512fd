/** Nearest-rank quantiles of a sample: the value at or below which `q` of the sample lies. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    min: sorted[0]!,
    max: sorted.at(-1)!,
  };
}

export function describeSummary(s: Summary, unit = 'ms', digits = 2): string {
  const f = (v: number) => v.toFixed(digits);
  return `n ${s.n}: p50 ${f(s.p50)}, p90 ${f(s.p90)}, p99 ${f(s.p99)}, mean ${f(s.mean)}, min ${f(s.min)}, max ${f(s.max)} ${unit}`;
}

/** Wall-clock milliseconds since the epoch with sub-millisecond resolution, comparable across processes of this host. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
