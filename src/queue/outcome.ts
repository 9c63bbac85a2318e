import { baseOutcome, type TaskOutcome, type TaskRequest } from "../tasks/index.js";

/**
 * An outcome for a task that did not (or not fully) run on a worker: canceled while queued, lost
 * with its worker, refused by the worker. Same shape as the outcomes LocalExecutor produces.
 */
export function syntheticOutcome(req: TaskRequest, startedAt: number, status: "failed" | "canceled", errorType: string, message: string, extra: Partial<TaskOutcome> = {}): TaskOutcome {
  return {
    ...baseOutcome(req, startedAt),
    status,
    result: "",
    summary: status === "canceled" ? "canceled" : message.slice(0, 300),
    ...(req.task.method === "direct" ? { exit_code: null } : {}),
    error_type: errorType,
    message,
    ...extra,
  };
}
