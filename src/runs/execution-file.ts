import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { processStartTime } from "../process/index.js";

/** How an execution's output is kept: a command's in output.log, a claude task's in transcript.jsonl. */
export type KeptKind = "command" | "claude";

/** The process that writes a run folder, to tell a live execution from one whose writer died. */
export interface Writer {
  pid: number;
  host: string;
  /** Start time of the pid (Linux, from /proc): guards against pid reuse. */
  start_time?: number;
}

/** `execution.json`: written when the execution starts, replaced when it ends. */
export interface ExecutionFile {
  version: 1;
  execution_id: string;
  kind: KeptKind;
  /** The command, or the start of the prompt (at most 200 characters). */
  label: string;
  cwd?: string;
  started_at: string;
  writer: Writer;
  /** The command's process (and group) id. */
  pid?: number;
  /** Set for a task of a task list. */
  run_id?: string;
  task_id?: string;
  task_index?: number;
  // Set when it has ended:
  status?: "completed" | "failed" | "timeout" | "canceled";
  ended_at?: string;
  duration_ms?: number;
  exit_code?: number | null;
  signal?: string | null;
  /** claude tasks: why it failed. */
  error_type?: string;
  message?: string;
  /** commands: bytes of output in all, and how many of the oldest were not kept. */
  output_bytes?: number;
  dropped_bytes?: number;
}

let self: Writer | undefined;

/** This process as a writer (read once: its start time does not change, and /proc costs a read per execution). */
export function currentWriter(): Writer {
  self ??= { pid: process.pid, host: hostname(), start_time: processStartTime(process.pid) };
  return { ...self };
}

/** Whether the writer still runs. A writer on another host is assumed alive (nothing to check there). */
export function writerAlive(w: Writer): boolean {
  if (w.host !== hostname()) return true;
  if (w.pid === process.pid) return true;
  if (existsSync("/proc/self/stat")) {
    const started = processStartTime(w.pid);
    return started !== undefined && (w.start_time === undefined || started === w.start_time);
  }
  try {
    process.kill(w.pid, 0); // no /proc (macOS): existence only
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Replaces the file whole (readers never see half of it). */
export function writeExecutionFile(path: string, value: ExecutionFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** undefined when the file is missing or unreadable. */
export function readExecutionFile(path: string): ExecutionFile | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as ExecutionFile;
  } catch {
    return undefined;
  }
}
