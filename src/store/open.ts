import { silentLogger, type Logger } from "../logger.js";
import { statePaths } from "../paths.js";
import { RedisStore, type RedisStoreOptions } from "./redis.js";
import { SqliteStore } from "./sqlite.js";
import type { Store } from "./types.js";

export interface OpenStoreOptions {
  /** State directory; the SQLite file is statePaths(home).sqliteFile. */
  home: string;
  /** REDIS_URL: when set, Redis is used instead of SQLite. */
  redisUrl?: string;
  logger?: Logger;
  /** Redis tuning (prefix, TTLs, buffer bound...). */
  redis?: Omit<RedisStoreOptions, "url" | "logger"> & { waitMs?: number };
}

/**
 * The one place that picks a backend: SQLite by default (embedded, nothing to start), Redis when a
 * URL is configured. An unreachable Redis does not fail the open: the store starts degraded and
 * buffers until Redis answers (see docs/store.md).
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const logger = options.logger ?? silentLogger;
  if (options.redisUrl) {
    const store = await RedisStore.connect({ ...options.redis, url: options.redisUrl, logger });
    logger.debug({ prefix: store.prefix }, "store: redis");
    return store;
  }
  const file = statePaths(options.home).sqliteFile;
  logger.debug({ file }, "store: sqlite");
  return new SqliteStore({ file });
}

/** The store the configuration names: SQLite in the state directory, or Redis (REDIS_URL) under CC_EXECUTOR_REDIS_PREFIX. */
export function storeOptionsFrom(config: { home: string; redisUrl?: string; redisPrefix: string }, logger?: Logger): OpenStoreOptions {
  return { home: config.home, redisUrl: config.redisUrl, logger, redis: { prefix: config.redisPrefix } };
}
