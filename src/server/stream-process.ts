import { utf8BytesOf, withUtf8Data, type OutputChunk, type ProcessResult, type SupervisedProcess } from "../process/index.js";
import { Notifications, processCompletedParams } from "../protocol/index.js";
import type { ProcessCompletedParams, ProcessOutputParams, ProcessStartedParams } from "../protocol/index.js";
import type { NotificationSink } from "./sink.js";

/** The process.* notifications of one execution, as functions (shared by commands and claude attempts). */
export function streamProcessEvents(sink: NotificationSink, executionId: string) {
  return {
    started(info: { pid: number; pgid: number; command: string; timeout: number | null; startedAt?: number; [extra: string]: unknown }): void {
      const { startedAt, ...rest } = info;
      // `status` as the original's StatusUpdate had it (its clients read it).
      const params: ProcessStartedParams = { execution_id: executionId, status: "started", ...rest, started_at: new Date(startedAt ?? Date.now()).toISOString() };
      sink.notify(Notifications.processStarted, params);
    },
    output(chunk: OutputChunk): void {
      // The chunk's bytes go on undecoded: the session builds the frame from them (see output-frame.ts).
      const bytes = utf8BytesOf(chunk);
      const head = { execution_id: executionId, type: chunk.stream };
      const params: ProcessOutputParams = Object.assign(bytes ? withUtf8Data(head, bytes) : { ...head, data: chunk.data }, {
        truncated: chunk.truncated,
        chunk_index: chunk.chunkIndex,
        total_chunks: chunk.totalChunks,
        seq: chunk.seq,
      });
      sink.notify(Notifications.processOutput, params);
    },
    completed(result: ProcessResult & { pid?: number; pgid?: number }, extra: Record<string, unknown> = {}): ProcessCompletedParams {
      const params = processCompletedParams(executionId, result, extra);
      if (result.status === "canceled") sink.notify(Notifications.processCanceled, { execution_id: executionId, status: "canceled", pid: params.pid, pgid: params.pgid });
      sink.notify(Notifications.processCompleted, params);
      return params;
    },
  };
}

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
  const events = streamProcessEvents(sink, info.executionId);
  const ids = { execution_id: info.executionId, pid: proc.pid, pgid: proc.pgid };
  const onDrain = () => proc.resumeOutput();
  sink.on("drain", onDrain);
  proc.on("output", (chunk) => {
    events.output(chunk);
    if (sink.isCongested && !sink.isClosed) proc.pauseOutput();
  });
  proc.on("paused", () => sink.notify(Notifications.processPaused, { ...ids, status: "paused" }));
  proc.on("resumed", () => sink.notify(Notifications.processResumed, { ...ids, status: "resumed" }));
  const completed = proc.done.then((result) => {
    sink.off("drain", onDrain);
    return events.completed({ ...result, pid: proc.pid, pgid: proc.pgid });
  });
  return {
    announce: () => events.started({ pid: proc.pid, pgid: proc.pgid, command: proc.command, timeout: info.timeoutS, startedAt: proc.startedAt, ...info.extra }),
    completed,
  };
}
