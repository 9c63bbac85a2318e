import type { ProcessCompletedParams, TerminalStatus } from "./notifications.js";

/** A finished process, as the supervisor reports it (ProcessResult), with its ids. */
export interface FinishedProcess {
  status: TerminalStatus;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  stdoutBytes: number;
  stderrBytes: number;
  truncated: boolean;
  timeoutReason?: "timeout" | "inactivity";
  pid?: number;
  pgid?: number;
}

/**
 * The `process.completed` params of a finished process. post-execute hooks are given this same
 * object as their `result`, whichever door ran the command.
 */
export function processCompletedParams(executionId: string, result: FinishedProcess, extra: Record<string, unknown> = {}): ProcessCompletedParams {
  const params: ProcessCompletedParams = {
    execution_id: executionId,
    status: result.status,
    exit_code: result.exitCode,
    signal: result.signal,
    execution_time: result.durationMs / 1000,
    duration_ms: result.durationMs,
    pid: result.pid ?? 0,
    pgid: result.pgid ?? 0,
    stdout_bytes: result.stdoutBytes,
    stderr_bytes: result.stderrBytes,
    truncated: result.truncated,
    ...extra,
  };
  if (result.timeoutReason) params.timeout_reason = result.timeoutReason;
  return params;
}
