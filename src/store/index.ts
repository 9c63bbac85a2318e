export type {
  ExecutionEnd,
  ExecutionKind,
  ExecutionQuery,
  ExecutionRecord,
  ExecutionStart,
  ExecutionStatus,
  HistoryPruneOptions,
  HistoryPruneResult,
  HistoryUsage,
  Store,
  StoreHealth,
  TaskListRun,
  TaskListRunStatus,
  TimeoutBasis,
} from "./types.js";
export { digestOf, labelOf, LABEL_MAX } from "./record.js";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite.js";
export { RedisStore, type RedisStoreOptions } from "./redis.js";
export { openStore, storeOptionsFrom, type OpenStoreOptions } from "./open.js";
export {
  categoryTag,
  claudeComplexity,
  classifyTask,
  commandProgram,
  defaultTimeout,
  DEFAULT_TIMEOUT_S,
  estimateTimeout,
  FLOOR_S,
  historyTimeout,
  percentile,
  typicalDuration,
  type Complexity,
  type EstimateOptions,
  type EstimatorKind,
  type TimeoutEstimate,
  type TypicalDuration,
} from "./estimator.js";
export { HistoryRecorder, historyStatus, timeoutLimitsFrom, type StartedExecution, type TimeoutLimits } from "./recorder.js";
