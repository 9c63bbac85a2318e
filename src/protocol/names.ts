/**
 * Method, notification and error-code names of the wire protocol.
 * The first group is the original cc_executor protocol and must never change;
 * everything after it is an additive extension documented in docs/protocol.md.
 */
export const Methods = {
  execute: "execute",
  control: "control",
  hookStatus: "hook_status",
  /** Extension: re-attach to a resumable execution after a dropped connection. */
  attach: "attach",
  /** Extension: run one claude task (docs/claude.md). */
  ccExecute: "cc_execute",
  /** Extension: run (or resume) a task list (docs/task-lists.md). */
  runTaskList: "run_task_list",
  /** The original's heartbeat answer: accepted, never answered. */
  pong: "pong",
  /** Extension: the server's own settings and claude binary (what a request does not carry). */
  settings: "settings",
} as const;
export type MethodName = (typeof Methods)[keyof typeof Methods] | (string & {});

export const Notifications = {
  connected: "connected",
  processStarted: "process.started",
  processOutput: "process.output",
  processCompleted: "process.completed",
  processPaused: "process.paused",
  processResumed: "process.resumed",
  processCanceled: "process.canceled",
  tokenLimitExceeded: "error.token_limit_exceeded",
  rateLimitExceeded: "error.rate_limit_exceeded",
  hookWarning: "hook.warning",
  /** Extensions for claude tasks. */
  claudeEvent: "claude.event",
  claudeRetry: "claude.retry",
  claudeWaiting: "claude.waiting",
  claudeCompleted: "claude.completed",
  /** An attempt continues a Claude session (`resumed`), or could not and starts afresh (`fallback`). */
  claudeSession: "claude.session",
  /** Extensions for task lists; the process.* and claude.* notifications of each task carry run_id and task_id. */
  taskListStarted: "tasklist.started",
  taskStarted: "task.started",
  taskCompleted: "task.completed",
  taskFailed: "task.failed",
  taskSkipped: "task.skipped",
  /** A merge step of an isolated parallel group (merged, conflict, failed, kept). */
  taskMerge: "task.merge",
  /** The run's budget after a task spent something. */
  taskListBudget: "tasklist.budget",
  taskListCompleted: "tasklist.completed",
  /** Extension: in an attach replay, in place of notifications that are no longer kept (the replay file is capped). */
  replayGap: "replay.gap",
} as const;
export type NotificationName = (typeof Notifications)[keyof typeof Notifications] | (string & {});

export const ErrorCodes = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  commandNotAllowed: -32001,
  noProcess: -32002,
  sessionLimit: -32003,
  /** Extension: too many processes running server-wide (CC_EXECUTOR_MAX_PROCESSES). */
  processLimit: -32004,
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** WebSocket paths the server answers on (the original used /ws/mcp). */
export const WS_PATHS = ["/ws/mcp", "/ws"] as const;

/** Largest `process.output` data chunk, in bytes of UTF-8. */
export const OUTPUT_CHUNK_BYTES = 64 * 1024;
