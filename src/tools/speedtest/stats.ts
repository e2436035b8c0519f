/** Medians with min and max over the runs. */
import type { Figure } from './types.js';

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function figure(values: number[]): Figure {
  const runs = values.map(round);
  return {
    median: round(median(values)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
    runs,
  };
}

/** Three decimals: microsecond resolution for milliseconds is plenty. */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
