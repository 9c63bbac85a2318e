import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { HistoryRecorder, openStore, storeOptionsFrom, timeoutLimitsFrom, type Store } from "../store/index.js";

/**
 * The history store of the MCP server: one for its lifetime, opened on first use (an MCP server
 * that is never called opens nothing). When it cannot be opened, work runs anyway, without
 * records or estimates, and the next call tries again.
 */
export class LazyHistory {
  private opened: Promise<{ store: Store; history: HistoryRecorder }> | undefined;

  /** `store`: the caller's, used as it is and not closed here. */
  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly store?: Store,
  ) {}

  /** The store and its recorder; rejects when the store cannot be opened. */
  open(): Promise<{ store: Store; history: HistoryRecorder }> {
    return (this.opened ??= (this.store ? Promise.resolve(this.store) : openStore(storeOptionsFrom(this.config, this.logger)))
      .then((store) => ({ store, history: new HistoryRecorder(store, timeoutLimitsFrom(this.config), this.logger) }))
      .catch((err: unknown) => {
        this.opened = undefined; // tried again on the next call
        throw err;
      }));
  }

  /** The recorder for a call that runs work, or undefined (logged) when the store cannot be opened. */
  async recorder(): Promise<HistoryRecorder | undefined> {
    try {
      return (await this.open()).history;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "mcp: cannot open the history store; this call runs without history");
      return undefined;
    }
  }

  /** Writes out what is pending and closes the store, unless it was the caller's. */
  async close(): Promise<void> {
    const h = this.opened && (await this.opened.catch(() => undefined));
    if (!h) return;
    await h.history.flush();
    if (!this.store) await h.store.close().catch(() => undefined);
  }
}
