import type { Config } from "../config.js";
import { pruneRuns, type RunsLimits, type RunsPruneReport } from "../runs/index.js";
import type { HistoryPruneResult, Store } from "../store/index.js";

/**
 * Pruning of what the state directory accumulates: run folders (by age and total size) and history
 * rows (by age and count). The server runs it periodically, `history prune` and `cleanup` on demand;
 * all of them through pruneState, with the limits of the configuration unless told otherwise.
 */

export interface StateLimits {
  runs: RunsLimits;
  /** History rows started longer ago than this go (undefined: no age limit). */
  historyMaxAgeMs?: number;
  /** At most this many history rows stay (undefined: no cap). */
  historyKeep?: number;
}

/** The configured limits (CC_EXECUTOR_RUNS_MAX_AGE/_SIZE, CC_EXECUTOR_HISTORY_MAX_AGE/_ROWS; 0 = none). */
export function limitsFrom(config: Config): StateLimits {
  return {
    runs: { maxAgeMs: config.runsMaxAgeS > 0 ? config.runsMaxAgeS * 1000 : undefined, maxBytes: config.runsMaxBytes > 0 ? config.runsMaxBytes : undefined },
    historyMaxAgeMs: config.historyMaxAgeS > 0 ? config.historyMaxAgeS * 1000 : undefined,
    historyKeep: config.historyMaxRows > 0 ? config.historyMaxRows : undefined,
  };
}

export interface StatePruneReport {
  runs: RunsPruneReport;
  history: HistoryPruneResult;
  /** History rows that started before this (epoch ms) were the age criterion. */
  historyBefore?: number;
}

export async function pruneState(
  home: string,
  store: Store,
  limits: StateLimits,
  options: { activeIds?: Iterable<string>; dryRun?: boolean; now?: number } = {},
): Promise<StatePruneReport> {
  const now = options.now ?? Date.now();
  const runs = await pruneRuns(home, limits.runs, { activeIds: options.activeIds, dryRun: options.dryRun, now });
  const historyBefore = limits.historyMaxAgeMs !== undefined ? now - limits.historyMaxAgeMs : undefined;
  const history = await store.pruneHistory({ before: historyBefore, keep: limits.historyKeep, dryRun: options.dryRun });
  return { runs, history, ...(historyBefore !== undefined ? { historyBefore } : {}) };
}
