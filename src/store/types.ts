/**
 * The storage seam: execution history, task-list runs and the statistics the timeout estimator
 * reads. Two backends implement it (SQLite, the embedded default, and Redis) and both pass the one
 * contract suite in test/store/contract.ts, so callers never need to know which one they have.
 * Everything is async because the Redis backend is; times are milliseconds since the epoch.
 */

export type ExecutionKind = "command" | "claude" | "task";
export type ExecutionStatus = "running" | "completed" | "failed" | "timeout" | "canceled";
/** Where an execution's timeout came from: the estimator's answer, or the caller's own value. */
export type TimeoutBasis = "history" | "default" | "explicit";

export interface ExecutionRecord {
  id: string;
  kind: ExecutionKind;
  /** The command text or the prompt, at most LABEL_MAX characters (the store enforces it). */
  label: string;
  /** sha256 (hex) of the full command or prompt: finds repeats without storing the whole text. */
  digest: string;
  /** Class used by the timeout estimator, e.g. "cmd:npm" or "claude:medium". */
  category: string;
  session_id?: string;
  started_at: number;
  ended_at?: number;
  duration_ms?: number;
  status: ExecutionStatus;
  exit_code?: number;
  error_type?: string;
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
  uuid_verified?: boolean;
  timeout_s?: number;
  timeout_basis?: TimeoutBasis;
  /** Artifact name -> file path (transcript, result, report...). */
  artifacts: Record<string, string>;
  task_list_run_id?: string;
}

/** What recordExecutionStart takes: status defaults to "running", artifacts to {}. */
export type ExecutionStart = Omit<ExecutionRecord, "status" | "artifacts" | "ended_at" | "duration_ms"> & {
  status?: ExecutionStatus;
  artifacts?: Record<string, string>;
};

/**
 * What recordExecutionEnd takes. ended_at defaults to now, duration_ms to ended_at - started_at;
 * artifacts are merged into the ones recorded at start. Absent fields keep their stored value.
 */
export interface ExecutionEnd {
  status: Exclude<ExecutionStatus, "running">;
  ended_at?: number;
  duration_ms?: number;
  exit_code?: number;
  error_type?: string;
  session_id?: string;
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
  uuid_verified?: boolean;
  artifacts?: Record<string, string>;
}

export interface ExecutionQuery {
  /** Default 100, at most 1000. */
  limit?: number;
  status?: ExecutionStatus;
  kind?: ExecutionKind;
  /** Only executions started strictly before this time (a paging cursor: pass the last started_at). */
  before?: Date | number;
}

export type TaskListRunStatus = "running" | "completed" | "failed" | "canceled" | "interrupted" | "budget_exhausted";

export interface TaskListRun {
  run_id: string;
  name: string;
  /** Where the task list came from (file path, or "inline"). */
  source: string;
  status: TaskListRunStatus;
  started_at: number;
  ended_at?: number;
  tasks_total: number;
  tasks_done: number;
  tasks_failed: number;
  /** The checkpoint file a resumed run reads. */
  checkpoint_path: string;
}

/** What pruneHistory removes: rows started before `before`, and the oldest beyond the newest `keep`. */
export interface HistoryPruneOptions {
  /** Epoch ms: rows that started earlier go. */
  before?: Date | number;
  /** At most this many executions (and, separately, task-list runs) stay, the newest. */
  keep?: number;
  /** Count what would go, remove nothing. */
  dryRun?: boolean;
}

export interface HistoryPruneResult {
  executions: number;
  task_list_runs: number;
}

/** How much history a store holds. */
export interface HistoryUsage {
  executions: number;
  task_list_runs: number;
  /** started_at of the oldest execution, epoch ms. */
  oldest_started_at?: number;
  /** Size on disk or in memory, when the backend knows it (SQLite: the file's pages in use). */
  bytes?: number;
}

export interface StoreHealth {
  backend: "sqlite" | "redis";
  status: "ok" | "degraded";
  detail?: string;
}

export interface Store {
  /** Inserts the record, or replaces one with the same id. */
  recordExecutionStart(rec: ExecutionStart): Promise<void>;
  /** Completes a record; an unknown id is ignored (it may have been cleared or expired). */
  recordExecutionEnd(id: string, patch: ExecutionEnd): Promise<void>;
  getExecution(id: string): Promise<ExecutionRecord | undefined>;
  /** Newest first (by started_at). */
  listExecutions(query?: ExecutionQuery): Promise<ExecutionRecord[]>;
  /** Deletes executions started before `before`; returns how many were deleted. */
  clearExecutions(options: { before: Date | number }): Promise<number>;
  /** Deletes old executions and task-list runs by age and count (or counts them with dryRun). */
  pruneHistory(options: HistoryPruneOptions): Promise<HistoryPruneResult>;
  usage(): Promise<HistoryUsage>;

  /** Inserts or replaces the run with this run_id. */
  saveTaskListRun(run: TaskListRun): Promise<void>;
  getTaskListRun(runId: string): Promise<TaskListRun | undefined>;
  /** Newest first (by started_at); limit defaults to 50. */
  listTaskListRuns(options?: { limit?: number }): Promise<TaskListRun[]>;

  /** Durations (ms) of completed executions of this category, newest first. */
  recentDurations(category: string, limit: number): Promise<number[]>;

  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}
