import type { BudgetStatus } from "./budget.js";
import type { TaskActivity } from "./executor.js";
import type { FailurePolicy, MergeStep, TaskMethod, TaskOutcome } from "./model.js";
import type { TaskListSummary } from "./summary.js";

export interface TimeoutChoice {
  timeout_s: number;
  /** "given": from the task or the list; "history": estimated from past runs; "default": a per-kind default. */
  basis: "given" | "history" | "default";
  samples?: number;
}

/** Set on task.started when a claude task continues the Claude session of its previous attempt. */
export interface SessionResume {
  session_id: string;
  /** Why the previous attempt ended (e.g. "timeout: timed out after 600 s"). */
  reason: string;
}

/** What a task-list run reports, in order. The server turns these into task.* notifications. */
export type TaskListEvent =
  | { type: "tasklist.started"; run_id: string; name: string; total: number; resumed: boolean; already_done: string[]; state_path: string; budget?: BudgetStatus }
  | {
      type: "task.started";
      run_id: string;
      task_id: string;
      index: number;
      title: string;
      method: TaskMethod;
      attempt: number;
      execution_id: string;
      timeout: TimeoutChoice;
      /** An isolated task: the worktree it runs in, on its own branch. */
      worktree?: { path: string; branch: string };
      /** The budget this attempt may spend (claude tasks, when the list or the task has one). */
      budget?: { max_cost_usd?: number; max_tokens?: number };
      resume_session?: SessionResume;
    }
  | { type: "task.activity"; run_id: string; task_id: string; index: number; execution_id: string; activity: TaskActivity }
  | { type: "task.completed"; run_id: string; outcome: TaskOutcome }
  | { type: "task.failed"; run_id: string; outcome: TaskOutcome; will_retry: boolean; policy: FailurePolicy }
  | { type: "task.skipped"; run_id: string; task_id: string; index: number; title: string; reason: string }
  /** After every task run that spent something: the run's budget as it stands. */
  | { type: "tasklist.budget"; run_id: string; task_id: string; budget: BudgetStatus }
  /**
   * A merge step after a parallel group ended: merged (or empty), or conflict/failed (the branch is
   * kept; `stops` when the failure policy stops the list), or kept (the task did not complete).
   */
  | { type: "task.merge"; run_id: string; merge: MergeStep; stops: boolean }
  | { type: "tasklist.completed"; run_id: string; summary: TaskListSummary };
