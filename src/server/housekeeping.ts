import type { Config } from "../config.js";
import { limitsFrom, pruneState } from "../housekeeping/index.js";
import type { Logger } from "../logger.js";
import { runsUsage, scanRunFolders, type RunsUsage } from "../runs/index.js";
import type { HistoryUsage, Store } from "../store/index.js";
import { formatBytes } from "../units.js";

/** How often a running server prunes the runs folder and the history. */
export const HOUSEKEEPING_INTERVAL_MS = 10 * 60_000;
/** /health rescans the runs folder at most this often. */
const USAGE_MAX_AGE_MS = 30_000;

/** What the state directory holds, with its limits: the `storage` part of /health. */
export interface StorageUsage {
  runs: RunsUsage & { max_bytes: number; max_age_s: number };
  history: HistoryUsage & { max_rows: number; max_age_s: number };
  last_pruned_at?: string;
}

/**
 * Keeps the state directory within its limits while the server runs: at start and every
 * HOUSEKEEPING_INTERVAL_MS it prunes the runs folder (CC_EXECUTOR_RUNS_MAX_AGE / _MAX_SIZE, never a
 * folder in use) and the history (CC_EXECUTOR_HISTORY_MAX_AGE / _MAX_ROWS), and it reports the use.
 */
export class Housekeeping {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private usageCache: { at: number; value: Promise<StorageUsage> } | undefined;
  private lastPrunedAt: number | undefined;

  constructor(
    private readonly config: Config,
    private readonly store: Store,
    /** Executions running now: their folders are kept whatever their age or size. */
    private readonly activeIds: () => Iterable<string>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.prune(), HOUSEKEEPING_INTERVAL_MS);
    this.timer.unref();
    void this.prune();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass (a pass already under way is awaited instead of starting another). */
  prune(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    try {
      const { runs, history } = await pruneState(this.config.home, this.store, limitsFrom(this.config), { activeIds: this.activeIds() });
      if (runs.removed.length > 0) {
        const freed = runs.removed.reduce((s, f) => s + f.bytes, 0);
        this.logger.info({ removed: runs.removed.length, freed, kept_bytes: runs.plan.keptBytes }, `pruned ${runs.removed.length} run folder(s), ${formatBytes(freed)} (CC_EXECUTOR_RUNS_MAX_AGE / CC_EXECUTOR_RUNS_MAX_SIZE)`);
      }
      for (const f of runs.failed) this.logger.warn({ folder: f.folder.path, err: f.error }, "cannot prune a run folder");
      if (history.executions + history.task_list_runs > 0) this.logger.info(history, "pruned history (CC_EXECUTOR_HISTORY_MAX_AGE / CC_EXECUTOR_HISTORY_MAX_ROWS)");
      this.lastPrunedAt = Date.now();
      this.usageCache = undefined;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "housekeeping of the state directory failed; trying again later");
    }
  }

  /** The use of the runs folder and history (rescanned at most every 30 s). */
  usage(): Promise<StorageUsage> {
    const now = Date.now();
    if (!this.usageCache || now - this.usageCache.at > USAGE_MAX_AGE_MS) {
      const value = this.measure();
      this.usageCache = { at: now, value };
      value.catch(() => (this.usageCache = undefined));
    }
    return this.usageCache.value;
  }

  private async measure(): Promise<StorageUsage> {
    const folders = await scanRunFolders(this.config.home, { activeIds: this.activeIds() });
    const history = await this.store.usage();
    const usage: StorageUsage = {
      runs: { ...runsUsage(this.config.home, folders), max_bytes: this.config.runsMaxBytes, max_age_s: this.config.runsMaxAgeS },
      history: { ...history, max_rows: this.config.historyMaxRows, max_age_s: this.config.historyMaxAgeS },
    };
    if (this.lastPrunedAt !== undefined) usage.last_pruned_at = new Date(this.lastPrunedAt).toISOString();
    return usage;
  }
}
