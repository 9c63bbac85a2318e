import type { SupervisedProcess } from "../process/index.js";
import { Notifications } from "../protocol/index.js";
import type { ProcessCompletedParams, ProcessOutputParams, ProcessStartedParams } from "../protocol/index.js";
import type { NotificationSink } from "./sink.js";

export interface ProcessStream {
  /** Sends process.started; call once, before any output can arrive (i.e. in the same tick). */
  announce(): void;
  /** Settles with the completed params once the terminal notification has been sent. */
  completed: Promise<ProcessCompletedParams>;
}

/**
 * Forwards a supervised process to a sink as process.* notifications, with flow control:
 * when the socket backs up, the process's pipes stop being read until it drains.
 */
export function streamProcess(
  sink: NotificationSink,
  proc: SupervisedProcess,
  info: { executionId: string; timeoutS: number | null; extra?: Record<string, unknown> },
): ProcessStream {
  const { executionId } = info;
  const started: ProcessStartedParams = {
    execution_id: executionId,
    pid: proc.pid,
    pgid: proc.pgid,
    command: proc.command,
    timeout: info.timeoutS,
    started_at: new Date(proc.startedAt).toISOString(),
    ...info.extra,
  };

  const onDrain = () => proc.resumeOutput();
  sink.on("drain", onDrain);
  proc.on("output", (chunk) => {
    const params: ProcessOutputParams = {
      execution_id: executionId,
      type: chunk.stream,
      data: chunk.data,
      truncated: chunk.truncated,
      chunk_index: chunk.chunkIndex,
      total_chunks: chunk.totalChunks,
      seq: chunk.seq,
    };
    sink.notify(Notifications.processOutput, params);
    if (sink.isCongested && !sink.isClosed) proc.pauseOutput();
  });
  proc.on("paused", () => sink.notify(Notifications.processPaused, { execution_id: executionId, pid: proc.pid, pgid: proc.pgid }));
  proc.on("resumed", () => sink.notify(Notifications.processResumed, { execution_id: executionId, pid: proc.pid, pgid: proc.pgid }));

  const completed = proc.done.then((result) => {
    sink.off("drain", onDrain);
    const params: ProcessCompletedParams = {
      execution_id: executionId,
      status: result.status,
      exit_code: result.exitCode,
      signal: result.signal,
      execution_time: result.durationMs / 1000,
      duration_ms: result.durationMs,
      pid: proc.pid,
      pgid: proc.pgid,
      stdout_bytes: result.stdoutBytes,
      stderr_bytes: result.stderrBytes,
      truncated: result.truncated,
    };
    if (result.timeoutReason) params.timeout_reason = result.timeoutReason;
    if (result.status === "canceled") sink.notify(Notifications.processCanceled, { execution_id: executionId, pid: proc.pid, pgid: proc.pgid });
    sink.notify(Notifications.processCompleted, params);
    return params;
  });
  return { announce: () => sink.notify(Notifications.processStarted, started), completed };
}
