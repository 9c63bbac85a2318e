import { silentLogger } from "../logger.js";
import { openStore, type OpenStoreOptions } from "./open.js";
import { SqliteStore } from "./sqlite.js";
import type { Store, StoreHealth } from "./types.js";

/**
 * History kept in memory because the configured store could not be opened (a read-only or full
 * state directory, a SQLite path that is a directory, ...). Everything works for the life of the
 * process; /health says `degraded` with the reason, and nothing of it survives a restart.
 */
export class InMemoryFallbackStore extends SqliteStore {
  constructor(
    private readonly wanted: string,
    private readonly reason: string,
  ) {
    super({ file: ":memory:" });
  }

  override async health(): Promise<StoreHealth> {
    return { backend: "sqlite", status: "degraded", detail: `cannot open ${this.wanted} (${this.reason}); history is kept in memory until the server restarts` };
  }
}

/**
 * openStore, except that a store that cannot be opened does not stop the server: the error is
 * logged once and history goes to memory (see InMemoryFallbackStore). Executions never depend on
 * the state directory being writable.
 */
export async function openStoreOrFallback(options: OpenStoreOptions): Promise<Store> {
  try {
    return await openStore(options);
  } catch (err) {
    const reason = (err as Error).message;
    const wanted = options.redisUrl ? "the Redis store" : `the SQLite file in ${options.home}`;
    (options.logger ?? silentLogger).error({ err: reason, home: options.home }, `cannot open ${wanted}: ${reason}; serving anyway with history kept in memory (check that the state directory is writable and not full)`);
    return new InMemoryFallbackStore(wanted, reason);
  }
}
