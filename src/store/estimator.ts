import type { Store } from "./types.js";

/**
 * Timeout estimation: a task's timeout comes from how long its kind of task took before, so that
 * a 5-second build is not given 30 minutes to hang and a long refactor is not killed at 5 minutes.
 *
 * 1. classify the task into a category (explicit `[category:x]` tag, else text features);
 * 2. with >= minSamples recent successful durations of that category: p90 x 1.2, never below the
 *    kind's floor, capped at maxS (basis "history");
 * 3. else a per-complexity default, capped at maxS (basis "default").
 */

export type EstimatorKind = "command" | "claude";
export type Complexity = "simple" | "medium" | "complex";

export interface TimeoutEstimate {
  timeout_s: number;
  basis: "history" | "default";
  /** Successful durations found for the category (fewer than minSamples means basis "default"). */
  samples: number;
  category: string;
}

export interface EstimateOptions {
  /** Upper bound for the answer, seconds (e.g. the configured maximum). */
  maxS?: number;
  /** Durations needed before history is trusted (default 3). */
  minSamples?: number;
  /** How many recent durations to look at (default DEFAULT_WINDOW, 50). */
  window?: number;
}

/** Seconds: history never goes below these (a few fast runs must not produce a hair trigger). */
export const FLOOR_S: Record<EstimatorKind, number> = { command: 10, claude: 60 };
/** Seconds, when there is no history. */
export const DEFAULT_TIMEOUT_S = { command: 300, claude: { simple: 300, medium: 900, complex: 1800 } } as const;
export const HISTORY_PERCENTILE = 90;
export const HISTORY_MARGIN = 1.2;

const TAG = /\[category:\s*([^\]\s]+)\s*\]/i;
const COMPLEX_WORDS = /\b(refactor|research|architect|migrat|redesign|rewrite|investigat|implement|overhaul|end-to-end)\w*/i;
const MEDIUM_WORDS = /\b(test|review|fix|debug|analy[sz]|document|optimi[sz]|benchmark|update)\w*/i;
/** Words that run another command: the command they run is what takes the time. */
const WRAPPERS = new Set(["sudo", "time", "nice", "nohup", "env", "exec", "command", "builtin", "stdbuf", "ionice"]);
/** Words that set up rather than do the work: `cd dir && make` is a make. */
const SETUP = new Set(["cd", "export", "source", ".", "set", "unset", "pushd", "true", ":"]);

/** The `[category:x]` tag in a text, lowercased, or undefined. */
export function categoryTag(text: string): string | undefined {
  const m = TAG.exec(text);
  return m ? m[1]!.toLowerCase() : undefined;
}

/** A prompt's complexity from its length and what it asks for. */
export function claudeComplexity(prompt: string): Complexity {
  const words = prompt.trim().split(/\s+/).filter(Boolean).length;
  if (COMPLEX_WORDS.test(prompt) || words > 300) return "complex";
  if (MEDIUM_WORDS.test(prompt) || words > 60) return "medium";
  return "simple";
}

/** The program a command line mostly runs, e.g. "npm" for `cd app && FOO=1 sudo /usr/bin/npm test`. */
export function commandProgram(command: string): string {
  for (const segment of command.split(/&&|\|\||;|\||\n/)) {
    const words = segment.trim().split(/\s+/).filter(Boolean);
    let i = 0;
    while (i < words.length && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!) || WRAPPERS.has(words[i]!) || (i > 0 && /^(-|\d+$)/.test(words[i]!)))) i++;
    const word = words[i];
    if (word === undefined || SETUP.has(word)) continue;
    const name = (word.split("/").pop() ?? "").toLowerCase().replace(/[^a-z0-9._+-]/g, "");
    if (name) return name;
  }
  return "other";
}

/** The estimator category of a task: the explicit tag wins, else "cmd:<program>" or "claude:<complexity>". */
export function classifyTask(text: string, kind: EstimatorKind): string {
  const tag = categoryTag(text);
  if (tag) return tag;
  return kind === "command" ? `cmd:${commandProgram(text)}` : `claude:${claudeComplexity(text)}`;
}

/** Nearest-rank percentile (p in (0, 100]) of the values; throws on an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError("percentile of an empty list");
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile out of range: ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
}

/** Seconds from a history of durations (ms): p90 x 1.2, at least the floor, at most maxS, whole seconds. */
export function historyTimeout(durationsMs: readonly number[], kind: EstimatorKind, maxS = Infinity): number {
  const raw = Math.ceil((percentile(durationsMs, HISTORY_PERCENTILE) * HISTORY_MARGIN) / 1000);
  return Math.min(maxS, Math.max(FLOOR_S[kind], raw));
}

/** Seconds when there is no usable history. */
export function defaultTimeout(text: string, kind: EstimatorKind, maxS = Infinity): number {
  const s = kind === "command" ? DEFAULT_TIMEOUT_S.command : DEFAULT_TIMEOUT_S.claude[claudeComplexity(text)];
  return Math.min(maxS, s);
}

/**
 * The timeout for a task, with its basis. A store that fails to answer counts as no history: an
 * estimate must never stop a task from running.
 */
export async function estimateTimeout(
  store: Pick<Store, "recentDurations">,
  text: string,
  kind: EstimatorKind,
  options: EstimateOptions = {},
): Promise<TimeoutEstimate> {
  let durations: number[] = [];
  try {
    durations = await store.recentDurations(classifyTask(text, kind), options.window ?? DEFAULT_WINDOW);
  } catch {
    durations = [];
  }
  return estimateFromDurations(durations, text, kind, options);
}

/** How many recent durations of a category an estimate looks at, by default. */
export const DEFAULT_WINDOW = 50;

/** The estimate from a category's recent successful durations (newest first), already at hand. */
export function estimateFromDurations(recent: readonly number[], text: string, kind: EstimatorKind, options: EstimateOptions = {}): TimeoutEstimate {
  const category = classifyTask(text, kind);
  const minSamples = Math.max(1, options.minSamples ?? 3);
  const durations = recent.filter((d) => Number.isFinite(d) && d >= 0);
  if (durations.length >= minSamples) {
    return { timeout_s: historyTimeout(durations, kind, options.maxS), basis: "history", samples: durations.length, category };
  }
  return { timeout_s: defaultTimeout(text, kind, options.maxS), basis: "default", samples: durations.length, category };
}

/** How long work of a category usually takes: the median of its recent successful durations (ms), with the sample count. */
export interface TypicalDuration {
  ms: number;
  samples: number;
}

/**
 * The typical duration of a category, for "about how long is left" (not a limit: timeouts come
 * from estimateTimeout). Undefined with fewer than minSamples durations, or when the store fails.
 */
export async function typicalDuration(store: Pick<Store, "recentDurations">, category: string, options: Pick<EstimateOptions, "minSamples" | "window"> = {}): Promise<TypicalDuration | undefined> {
  let durations: number[];
  try {
    durations = (await store.recentDurations(category, options.window ?? 50)).filter((d) => Number.isFinite(d) && d >= 0);
  } catch {
    return undefined;
  }
  if (durations.length < Math.max(1, options.minSamples ?? 3)) return undefined;
  return { ms: percentile(durations, 50), samples: durations.length };
}
