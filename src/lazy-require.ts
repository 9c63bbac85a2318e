import { createRequire } from "node:module";

/**
 * Loads a CommonJS package when it is first needed instead of when the module naming it is
 * imported. Heavy packages (SQLite binding, Redis client, YAML parser, pretty logs) then cost
 * start-up time and memory only in the commands and servers that use them. Type it at the call:
 * `lazyRequire("ioredis") as typeof import("ioredis")`; node caches what it loads.
 */
export const lazyRequire = createRequire(import.meta.url);
