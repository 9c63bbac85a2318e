import type { TaskActivity, TaskOutcome } from "../tasks/index.js";

/** What a worker publishes on a run's channel, in order, for one job. */
export type RunMessage =
  | { job: string; worker: string; kind: "activity"; activity: TaskActivity }
  /** Published after the last activity and before the job completes: nothing more will come. */
  | { job: string; worker: string; kind: "done" }
  /** The job went back to the queue (shutdown, usage limit): another run of it will follow. */
  | { job: string; worker: string; kind: "handed-back"; reason: string };

/** What a submitter publishes on the control channel; the worker running the job obeys. */
export interface ControlMessage {
  job: string;
  action: "cancel" | "pause" | "resume";
}

/** The outcome as a worker returns it: the task's outcome plus the name of the worker that ran it. */
export type QueuedOutcome = TaskOutcome & { worker?: string };

/** Default size bound of one string in a streamed activity (output chunks are 64 KiB). */
export const DEFAULT_ACTIVITY_CHARS = 16 * 1024;

const TAIL_KEYS = new Set(["stdout", "stderr"]);

function cut(value: string, max: number, keepTail: boolean): string {
  if (value.length <= max) return value;
  const note = `…[${value.length - max} chars not streamed]…`;
  return keepTail ? note + value.slice(-max) : value.slice(0, max) + note;
}

function bound(value: unknown, max: number, key: string, depth: number): unknown {
  if (typeof value === "string") return cut(value, max, TAIL_KEYS.has(key));
  if (value === null || typeof value !== "object" || depth > 8) return value;
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => bound(v, max, key, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "raw") continue; // claude stream events carry the whole raw message: already sent as output
    out[k] = bound(v, max, k, depth + 1);
  }
  return out;
}

/**
 * An activity small enough for one pub/sub message: every string at most `maxChars` (process
 * results keep their tail, everything else its head), raw claude messages dropped. An output chunk
 * that was cut says so with `truncated: true`.
 */
export function boundActivity(activity: TaskActivity, maxChars = DEFAULT_ACTIVITY_CHARS): TaskActivity {
  const out = bound(activity, maxChars, "", 0) as TaskActivity;
  if (out.type === "process.output" && activity.type === "process.output" && activity.chunk.data.length > maxChars) out.chunk.truncated = true;
  if (out.type === "claude" && out.event.type === "output" && activity.type === "claude" && activity.event.type === "output" && activity.event.chunk.data.length > maxChars) {
    out.event.chunk.truncated = true;
  }
  return out;
}
