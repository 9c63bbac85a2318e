export { limitsFrom, pruneState, type StateLimits, type StatePruneReport } from "./prune.js";
export { trimLog, SERVER_LOG_MAX_BYTES, SERVER_LOG_KEEP_BYTES, type LogTrim } from "./logs.js";
export { findLeftoverFiles, removeFiles, type Leftover } from "./leftovers.js";
