/**
 * What monitor.list / monitor.execution say about an execution. Free of imports: the dashboard page
 * (a browser bundle) imports these types too, so the server and the page cannot drift apart.
 */

/** What a session runs: a command, a claude task, a task list. */
export type ExecutionKind = "command" | "claude" | "task-list";

export interface ExecutionInfo {
  id: string;
  kind: ExecutionKind;
  label: string;
  /** running, then completed | failed | timeout | canceled (task lists: completed | failed | canceled), or unknown when its end was never seen. */
  status: string;
  paused: boolean;
  started_at: string;
  ended_at: string | null;
  duration_ms: number;
  session_id: string;
  pid?: number;
  exit_code?: number | null;
  error_type?: string;
  /** Output text seen so far (characters of process.output data, all attempts or tasks). */
  output_bytes: number;
  /** The kept tail has dropped older output (the full output may still be in the run folder). */
  tail_truncated: boolean;
  watchers: number;
  /** Task lists: how far the run is. */
  progress?: { total: number; completed: number; failed: number; skipped: number; current?: string };
}
