import type { EstimatorKind, HistoryRecorder, TimeoutBasis, TimeoutEstimate } from "../store/index.js";

/** The timeout a door gives a piece of work, and where it came from. */
export interface TimeoutPlan {
  /** Seconds; null: none (commands), or the runner's own default (claude). */
  timeoutS: number | null;
  /** Set when the timeout was estimated from history. */
  estimate?: TimeoutEstimate;
  /** What the history record says: the estimate's basis, "explicit" for a given or configured value, undefined for none. */
  basis?: TimeoutBasis;
}

export interface TimeoutSource {
  /** Absent: no estimates, only given and fallback values (e.g. the store could not be opened). */
  history?: HistoryRecorder;
  /** CC_EXECUTOR_ESTIMATE_TIMEOUTS. */
  estimateTimeouts: boolean;
}

/**
 * The timeout of one execution: `given` when the caller gave one (a number, or null for "none"),
 * else an estimate from history (when enabled), else `fallback`.
 */
export async function planTimeout(source: TimeoutSource, text: string, kind: EstimatorKind, given: number | null | undefined, fallback: number | null | undefined = null): Promise<TimeoutPlan> {
  const estimate = given === undefined && source.estimateTimeouts && source.history ? await source.history.estimate(text, kind) : undefined;
  const timeoutS = given !== undefined ? given : (estimate?.timeout_s ?? fallback ?? null);
  return { timeoutS, estimate, basis: estimate ? estimate.basis : timeoutS === null ? undefined : "explicit" };
}
