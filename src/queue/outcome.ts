import type { TaskOutcome, TaskRequest } from "../tasks/index.js";

/**
 * An outcome for a task that did not (or not fully) run on a worker: canceled while queued, lost
 * with its worker, refused by the worker. Same shape as the outcomes LocalExecutor produces.
 */
export function syntheticOutcome(req: TaskRequest, startedAt: number, status: "failed" | "canceled", errorType: string, message: string, extra: Partial<TaskOutcome> = {}): TaskOutcome {
  const endedAt = Date.now();
  return {
    id: req.task.id,
    index: req.task.index,
    title: req.task.title,
    method: req.task.method,
    status,
    attempts: req.attempt,
    started_at: new Date(startedAt).toISOString(),
    ended_at: new Date(endedAt).toISOString(),
    duration_ms: endedAt - startedAt,
    timeout_s: req.timeoutS,
    result: "",
    summary: status === "canceled" ? "canceled" : message.slice(0, 300),
    files_created: [],
    files_modified: [],
    execution_id: req.executionId,
    ...(req.task.method === "direct" ? { exit_code: null } : {}),
    error_type: errorType,
    message,
    ...extra,
  };
}
