import { silentLogger, type Logger } from "../logger.js";
import { classifyTask, DEFAULT_WINDOW, estimateFromDurations, type EstimatorKind, type TimeoutEstimate } from "./estimator.js";
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

/** How long recent durations read from the store are trusted before being read again (other processes write too). */
const DURATIONS_TTL_MS = 60_000;
/** Executions started and not ended that are remembered (for their category) at most. */
const MAX_OPEN = 10_000;

interface RecentDurations {
  /** Successful durations of one category, newest first, at most DEFAULT_WINDOW. */
  values: number[];
  readAt: number;
}

/**
 * History for the doors (server methods, task runner): writes never fail or delay the work they
 * describe. They are taken at once (times included) and issued together right after the current
 * turn of the event loop, so that an `execute` announces its process before any store write, and a
 * kill -9 loses at most the writes of that one turn. Estimates come from recent durations kept in
 * memory per category, read from the store once (again after DURATIONS_TTL_MS) and kept up to date
 * with the executions recorded here. Store errors are logged once; the Redis backend buffers by
 * itself while degraded.
 */
export class HistoryRecorder {
  private warned = false;
  private readonly pending = new Set<Promise<unknown>>();
  private queued: Array<() => Promise<unknown>> = [];
  private readonly recent = new Map<string, RecentDurations | Promise<RecentDurations>>();
  /** Category and start time of each execution recorded here and not ended yet. */
  private readonly open = new Map<string, { category: string; startedAt: number }>();

  constructor(
    readonly store: Store,
    private readonly limits: TimeoutLimits = { maxS: 3 * 3600 },
    private readonly logger: Logger = silentLogger,
  ) {}

  /** A timeout for work that was given none, with its basis and the number of samples behind it. */
  async estimate(text: string, kind: EstimatorKind): Promise<TimeoutEstimate> {
    const category = classifyTask(text, kind);
    const known = this.recent.get(category);
    const recent = known && !(known instanceof Promise) && Date.now() - known.readAt < DURATIONS_TTL_MS ? known : await this.readDurations(category);
    const e = estimateFromDurations(recent.values, text, kind, { maxS: this.limits.maxS });
    if (e.basis === "default") {
      const configured = kind === "claude" ? this.limits.claudeDefaultS : this.limits.commandDefaultS;
      if (configured !== undefined) e.timeout_s = Math.min(configured, this.limits.maxS);
    }
    return e;
  }

  started(e: StartedExecution): void {
    const category = classifyTask(e.text, e.estimatorKind);
    const startedAt = Date.now();
    this.open.set(e.id, { category, startedAt });
    if (this.open.size > MAX_OPEN) this.open.delete(this.open.keys().next().value!); // one that never ended
    const rec = {
      id: e.id,
      kind: e.kind,
      label: labelOf(e.text),
      digest: digestOf(e.text),
      category,
      session_id: e.sessionId,
      started_at: startedAt,
      timeout_s: e.timeoutS,
      timeout_basis: e.timeoutBasis,
      task_list_run_id: e.taskListRunId,
      artifacts: e.artifacts,
    };
    this.enqueue(() => this.store.recordExecutionStart(rec));
  }

  ended(id: string, patch: ExecutionEnd): void {
    const end = { ...patch, ended_at: patch.ended_at ?? Date.now() };
    const open = this.open.get(id);
    this.open.delete(id);
    if (open && end.status === "completed") this.remember(open.category, end.duration_ms ?? Math.max(0, end.ended_at - open.startedAt));
    this.enqueue(() => this.store.recordExecutionEnd(id, end));
  }

  taskListRun(run: TaskListRun): void {
    const copy = { ...run };
    this.enqueue(() => this.store.saveTaskListRun(copy));
  }

  /** Issues the queued writes and waits for every write in flight (before closing the store). */
  async flush(): Promise<void> {
    this.issue();
    await Promise.allSettled([...this.pending]);
  }

  /** Reads a category's recent durations from the store (one read at a time per category). */
  private readDurations(category: string): Promise<RecentDurations> {
    const known = this.recent.get(category);
    if (known instanceof Promise) return known;
    const reading = this.store
      .recentDurations(category, DEFAULT_WINDOW)
      .catch(() => [] as number[]) // no history is better than no estimate
      .then((values) => {
        const entry = { values, readAt: Date.now() };
        if (this.recent.get(category) === reading) this.recent.set(category, entry);
        return entry;
      });
    this.recent.set(category, reading);
    return reading;
  }

  /** A success recorded here joins its category's durations at once (newest first). */
  private remember(category: string, durationMs: number): void {
    const known = this.recent.get(category);
    if (!known || known instanceof Promise) return; // read from the store when first needed
    known.values.unshift(durationMs);
    if (known.values.length > DEFAULT_WINDOW) known.values.length = DEFAULT_WINDOW;
  }

  private enqueue(write: () => Promise<unknown>): void {
    this.queued.push(write);
    if (this.queued.length === 1) setImmediate(() => this.issue());
  }

  private issue(): void {
    const writes = this.queued;
    this.queued = [];
    for (const write of writes) {
      try {
        this.track(write());
      } catch (err) {
        this.track(Promise.reject(err));
      }
    }
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
