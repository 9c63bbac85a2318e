import type { TaskActivity } from "./executor.js";
import type { FailurePolicy, TaskMethod, TaskOutcome } from "./model.js";
import type { TaskListSummary } from "./summary.js";

export interface TimeoutChoice {
  timeout_s: number;
  /** "given": from the task or the list; "history": estimated from past runs; "default": a per-kind default. */
  basis: "given" | "history" | "default";
  samples?: number;
}

/** What a task-list run reports, in order. The server turns these into task.* notifications. */
export type TaskListEvent =
  | { type: "tasklist.started"; run_id: string; name: string; total: number; resumed: boolean; already_done: string[]; state_path: string }
  | { type: "task.started"; run_id: string; task_id: string; index: number; title: string; method: TaskMethod; attempt: number; execution_id: string; timeout: TimeoutChoice }
  | { type: "task.activity"; run_id: string; task_id: string; index: number; execution_id: string; activity: TaskActivity }
  | { type: "task.completed"; run_id: string; outcome: TaskOutcome }
  | { type: "task.failed"; run_id: string; outcome: TaskOutcome; will_retry: boolean; policy: FailurePolicy }
  | { type: "task.skipped"; run_id: string; task_id: string; index: number; title: string; reason: string }
  | { type: "tasklist.completed"; run_id: string; summary: TaskListSummary };
