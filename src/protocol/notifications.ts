/** Params of the notifications the server sends. Extra fields may be added; clients ignore what they do not know. */

export interface ConnectedParams {
  session_id: string;
  version: string;
  capabilities: string[];
}

export interface ProcessStartedParams {
  execution_id: string;
  /** Always "started" (the original's StatusUpdate field). */
  status?: "started";
  pid: number;
  pgid: number;
  command: string;
  /** Wall-clock timeout in seconds, null when none applies. */
  timeout: number | null;
  started_at: string;
}

export type OutputStream = "stdout" | "stderr";

export interface ProcessOutputParams {
  execution_id: string;
  type: OutputStream;
  data: string;
  /** True when the result tail kept for this stream has dropped older output (MAX_BUFFER_SIZE). */
  truncated: boolean;
  /** Position of this chunk within one read from the pipe that exceeded 64 KiB (0-based), and the count. */
  chunk_index: number;
  total_chunks: number;
  /** Monotonic sequence number over all output of this execution, starting at 0. */
  seq: number;
}

export type TerminalStatus = "completed" | "failed" | "timeout" | "canceled";

export interface ProcessCompletedParams {
  execution_id: string;
  status: TerminalStatus;
  exit_code: number | null;
  signal: string | null;
  /** Seconds, as a float (the original field). */
  execution_time: number;
  duration_ms: number;
  pid: number;
  pgid: number;
  /** Why a timeout fired: the wall-clock limit or the inactivity limit. */
  timeout_reason?: "timeout" | "inactivity";
  stdout_bytes: number;
  stderr_bytes: number;
  truncated: boolean;
  error?: string;
}

export interface ProcessControlParams {
  execution_id: string;
  /** "paused", "resumed" or "canceled" (the original's StatusUpdate field). */
  status: "paused" | "resumed" | "canceled";
  pid: number;
  pgid: number;
}
