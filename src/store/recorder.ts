import { silentLogger, type Logger } from "../logger.js";
import { classifyTask, estimateTimeout, type EstimatorKind, type TimeoutEstimate } from "./estimator.js";
import { digestOf, labelOf } from "./record.js";
import type { ExecutionEnd, ExecutionKind, ExecutionStatus, Store, TaskListRun, TimeoutBasis } from "./types.js";

export interface TimeoutLimits {
  /** Upper bound of every estimate, seconds. */
  maxS: number;
  /** Replaces the estimator's default (no history) for commands and direct tasks. */
  commandDefaultS?: number;
  /** Replaces the estimator's per-complexity default for claude tasks. */
  claudeDefaultS?: number;
}

/** The configured limits (CC_EXECUTOR_MAX_TIMEOUT, _COMMAND_TIMEOUT, _CLAUDE_TIMEOUT). */
export function timeoutLimitsFrom(config: { maxTimeoutS: number; commandTimeoutS: number; claudeTimeoutS?: number }): TimeoutLimits {
  return { maxS: config.maxTimeoutS, commandDefaultS: config.commandTimeoutS, claudeDefaultS: config.claudeTimeoutS };
}

export interface StartedExecution {
  id: string;
  kind: ExecutionKind;
  /** The command or prompt as run. */
  text: string;
  estimatorKind: EstimatorKind;
  sessionId?: string;
  timeoutS?: number;
  timeoutBasis?: TimeoutBasis;
  taskListRunId?: string;
  artifacts?: Record<string, string>;
}

/**
 * History for the doors (server methods, task runner): writes never fail or delay the work they
 * describe. Store errors are logged once; the Redis backend buffers by itself while degraded.
 */
export class HistoryRecorder {
  private warned = false;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    readonly store: Store,
    private readonly limits: TimeoutLimits = { maxS: 3 * 3600 },
    private readonly logger: Logger = silentLogger,
  ) {}

  /** A timeout for work that was given none, with its basis and the number of samples behind it. */
  async estimate(text: string, kind: EstimatorKind): Promise<TimeoutEstimate> {
    const e = await estimateTimeout(this.store, text, kind, { maxS: this.limits.maxS });
    if (e.basis === "default") {
      const configured = kind === "claude" ? this.limits.claudeDefaultS : this.limits.commandDefaultS;
      if (configured !== undefined) e.timeout_s = Math.min(configured, this.limits.maxS);
    }
    return e;
  }

  started(e: StartedExecution): void {
    this.track(
      this.store.recordExecutionStart({
        id: e.id,
        kind: e.kind,
        label: labelOf(e.text),
        digest: digestOf(e.text),
        category: classifyTask(e.text, e.estimatorKind),
        session_id: e.sessionId,
        started_at: Date.now(),
        timeout_s: e.timeoutS,
        timeout_basis: e.timeoutBasis,
        task_list_run_id: e.taskListRunId,
        artifacts: e.artifacts,
      }),
    );
  }

  ended(id: string, patch: ExecutionEnd): void {
    this.track(this.store.recordExecutionEnd(id, patch));
  }

  taskListRun(run: TaskListRun): void {
    this.track(this.store.saveTaskListRun(run));
  }

  /** Waits for the writes in flight (before closing the store). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private track(write: Promise<unknown>): void {
    const p = write.catch((err: Error) => {
      if (this.warned) return;
      this.warned = true;
      this.logger.warn({ err: err.message }, "cannot write execution history; executions go on without it");
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}

/** The history status of a finished process or task. */
export function historyStatus(status: string): Exclude<ExecutionStatus, "running"> {
  return status === "completed" || status === "timeout" || status === "canceled" ? status : "failed";
}
