/**
 * What the benchmarks share: percentiles, CPU accounting on a shared machine, a harness that repeats
 * a measurement of "ours" against its floor from the same run, and a uniform way of printing figures.
 */
import { readFileSync } from "node:fs";

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(samples: number[]): { n: number; p50: number; p90: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const ms = (ns: bigint) => Number(ns) / 1e6;

/** Runs fn and returns how long it took, in ms. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return ms(process.hrtime.bigint() - t0);
}

/** How many times each suite repeats its measurement (BENCH_REPEATS, default 3). */
export const REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? 3));

export interface Range {
  min: number;
  max: number;
}

export interface Figure {
  bench: string;
  metric: string;
  /** Median over the runs (or the single value). */
  ours: number;
  baseline: number;
  unit: string;
  /** ours / baseline: the median of the per-run ratios when repeated. */
  ratio: number;
  note?: string;
  runs?: number;
  oursRange?: Range;
  baselineRange?: Range;
  ratioRange?: Range;
  /** Share of the machine's CPU (0..1) other processes took during the runs: median and range. */
  others?: number;
  othersRange?: Range;
}

export function figure(bench: string, metric: string, ours: number, baseline: number, unit: string, note?: string): Figure {
  return { bench, metric, ours, baseline, unit, ratio: ours / baseline, note };
}

// ---- CPU accounting -------------------------------------------------------------------------

export interface CpuTicks {
  /** Ticks all CPUs spent busy, and in total (busy + idle). */
  busy: number;
  total: number;
  /** Ticks of this process, its reaped children, and the given processes (with their reaped children). */
  ours: number;
}

/** CPU time (user + system, ms) a process has used so far, with its reaped children; clock-tick resolution. */
export function processCpuMs(pid: number): number {
  return (processTicks(pid) * 1000) / CLOCK_TICKS;
}

/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

function processTicks(pid: number | "self"): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // utime stime cutime cstime are fields 14..17; the command name (field 2) may hold spaces
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

/** A snapshot of CPU ticks (Linux: /proc); undefined where /proc is missing. Processes gone already count 0. */
export function cpuTicks(pids: readonly number[] = []): CpuTicks | undefined {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
    let ours = processTicks("self");
    for (const pid of pids) {
      try {
        ours += processTicks(pid);
      } catch {
        // exited meanwhile
      }
    }
    const busy = user + nice + system + irq + softirq + (steal ?? 0);
    return { busy, total: busy + idle + iowait, ours };
  } catch {
    return undefined;
  }
}

/** Which share (0..1) of the machine's CPU other processes took between two snapshots. */
export function othersShare(a: CpuTicks | undefined, b: CpuTicks | undefined): number | undefined {
  if (!a || !b || b.total <= a.total) return undefined;
  return Math.max(0, (b.busy - a.busy - (b.ours - a.ours)) / (b.total - a.total));
}

// ---- repeated measurement -------------------------------------------------------------------

/** One figure of one run: ours and its floor, measured in the same run. */
export interface Measured {
  metric: string;
  unit: string;
  ours: number;
  floor: number;
  note?: string;
}

export interface RepeatOptions {
  repeats?: number;
  /** Processes of ours besides this one (servers): their CPU is not counted as "others". */
  pids?: () => readonly number[];
  /** Printed after each run (progress on a long suite); default: one line per run on stderr. */
  quiet?: boolean;
}

/**
 * Runs `once` `repeats` times; each run returns its figures, ours and floor side by side. Returns
 * one Figure per metric: the medians and ranges of ours, the floor and their ratio over the runs,
 * and the share of the CPU other processes took during the runs.
 */
export async function repeat(bench: string, once: (run: number) => Promise<Measured[]>, options: RepeatOptions = {}): Promise<Figure[]> {
  const repeats = options.repeats ?? REPEATS;
  const byMetric = new Map<string, Measured[]>();
  const others: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const before = cpuTicks(options.pids?.() ?? []);
    const measured = await once(r);
    const share = othersShare(before, cpuTicks(options.pids?.() ?? []));
    if (share !== undefined) others.push(share);
    for (const m of measured) byMetric.set(m.metric, [...(byMetric.get(m.metric) ?? []), m]);
    if (!options.quiet) process.stderr.write(`  ${bench} run ${r + 1}/${repeats} done${share === undefined ? "" : `, others took ${pct(share)} of the CPU`}\n`);
  }
  const range = (xs: number[]): Range => ({ min: Math.min(...xs), max: Math.max(...xs) });
  return [...byMetric.values()].map((ms) => {
    const ours = ms.map((m) => m.ours);
    const floors = ms.map((m) => m.floor);
    const ratios = ms.map((m) => m.ours / m.floor);
    const notes = [...new Set(ms.map((m) => m.note).filter(Boolean))];
    return {
      bench,
      metric: ms[0]!.metric,
      unit: ms[0]!.unit,
      ours: median(ours),
      baseline: median(floors),
      ratio: median(ratios),
      runs: ms.length,
      oursRange: range(ours),
      baselineRange: range(floors),
      ratioRange: range(ratios),
      others: others.length ? median(others) : undefined,
      othersRange: others.length ? range(others) : undefined,
      note: notes.length === 1 ? notes[0] : undefined,
    };
  });
}

// ---- printing -------------------------------------------------------------------------------

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const num = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
const withRange = (x: number, r: Range | undefined, f: (v: number) => string = num) => (r && r.min !== r.max ? `${f(x)} [${f(r.min)}–${f(r.max)}]` : f(x));

export function formatFigure(f: Figure): string {
  const parts = [
    `${f.bench.padEnd(8)} ${f.metric}`,
    `  ours ${withRange(f.ours, f.oursRange)} ${f.unit}   floor ${withRange(f.baseline, f.baselineRange)} ${f.unit}   ratio ${withRange(f.ratio, f.ratioRange, (v) => v.toFixed(2))}`,
  ];
  if (f.unit === "ms" || f.unit === "s") parts[1] += `   difference ${num(f.ours - f.baseline)} ${f.unit}`;
  if (f.runs !== undefined) parts[1] += `   (median of ${f.runs}${f.others !== undefined ? `; others took ${withRange(f.others, f.othersRange, pct)} of the CPU` : ""})`;
  if (f.note) parts.push(`  ${f.note}`);
  return parts.join("\n");
}

export function printFigures(figures: Figure[]): void {
  for (const f of figures) console.log(formatFigure(f));
}

/**
 * Runs bench/bare-spawner.mjs in its own plain node process: the floor of the spawn benchmarks,
 * measured without this (bigger) process's fork cost; with `load`, after importing that module.
 * Returns its JSON answer.
 */
export async function bareSpawner<T>(args: string[], options: { load?: string } = {}): Promise<T> {
  const { execFile } = await import("node:child_process");
  const script = new URL("./bare-spawner.mjs", import.meta.url).pathname;
  const env = { ...process.env, ...(options.load ? { CC_EXECUTOR_BENCH_LOAD: options.load } : {}) };
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [script, ...args], { maxBuffer: 64 * 1024 * 1024, env }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as T))),
  );
}

/** The built server's module (dist/server/index.js), for floors measured from a process that carries its code. */
export const BUILT_SERVER_MODULE = new URL("../dist/server/index.js", import.meta.url).pathname;

/** The server's containment (from the full /health document, which needs the token): "cgroup" or "process-group". */
export async function serverContainment(port: number, token: string): Promise<string> {
  try {
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`, { headers: { authorization: `Bearer ${token}` } })).json()) as { containment?: { kind?: string } };
    return health.containment?.kind ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** True when this module is the script node was started with (a suite run on its own). */
export function isMain(url: string): boolean {
  return url === `file://${process.argv[1]}`;
}
