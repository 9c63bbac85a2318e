/** Small helpers shared by the benchmarks: percentiles and a uniform way of printing figures. */

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(samples: number[]): { n: number; p50: number; p90: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

export interface Figure {
  bench: string;
  metric: string;
  ours: number;
  baseline: number;
  unit: string;
  /** ours / baseline */
  ratio: number;
  note?: string;
}

export function figure(bench: string, metric: string, ours: number, baseline: number, unit: string, note?: string): Figure {
  return { bench, metric, ours, baseline, unit, ratio: ours / baseline, note };
}

export function printFigures(figures: Figure[]): void {
  for (const f of figures) {
    console.log(
      `${f.bench.padEnd(12)} ${f.metric.padEnd(34)} ours ${f.ours.toFixed(2).padStart(10)} ${f.unit.padEnd(5)} baseline ${f.baseline.toFixed(2).padStart(10)} ${f.unit.padEnd(5)} ratio ${f.ratio.toFixed(2)}${f.note ? `  (${f.note})` : ""}`,
    );
  }
}

export const ms = (ns: bigint) => Number(ns) / 1e6;
