/**
 * Summaries of repeated measurements. Every benchmark produces one value per
 * run; the table shows the median and the "p95", which is always the slow
 * tail: the 95th percentile of a time, the 5th percentile of a rate.
 */

export type Better = 'higher' | 'lower';

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The slow-tail value: p95 of a time, p5 of a rate. */
export function slowTail(values: number[], better: Better): number {
  return better === 'lower' ? percentile(values, 95) : percentile(values, 5);
}

export interface Summary {
  median: number;
  p95: number;
  runs: number;
  values: number[];
}

export function summarise(values: number[], better: Better): Summary {
  return { median: median(values), p95: slowTail(values, better), runs: values.length, values };
}

/** Milliseconds since `start` (a performance.now() reading). */
export function since(start: number): number {
  return performance.now() - start;
}
