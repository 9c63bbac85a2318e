import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ClaudeTaskResult } from "../claude/index.js";
import { checkpointPath, loadRunState, RunNotFoundError, summarize, type RunState, type TaskListSummary } from "../tasks/index.js";
import { readExecutionFile, writerAlive } from "./execution-file.js";
import { executionDir, RunFiles } from "./layout.js";
import { findRunFolder, RunFolderNotFoundError } from "./read.js";

/**
 * Where a run stands, read from its run folder only (no server needed): a claude task's
 * result.json, a task list's checkpoint.json and report.json. This is what `cc-executor wait`
 * reports, for runs started by any door (detached or not), and still after their server is gone.
 */

export type RunKind = "claude" | "task-list";

/** A task list's position while it runs. */
export interface TaskListProgress {
  /** 1-based index of the task running now (the first one when a parallel group runs). */
  task: number;
  total: number;
  completed: number;
  title: string;
  task_started_at: string;
  /** The running task's execution id (its history record and run folder). */
  execution_id: string;
}

export interface RunningRun {
  id: string;
  kind: RunKind;
  status: "running";
  /** Task lists: from the checkpoint. Claude tasks: filled in from history when known. */
  started_at?: string;
  progress?: TaskListProgress;
}

/** A claude task that will never have a result: the process running it ended without writing one. */
export interface LostRun {
  id: string;
  kind: "claude";
  status: "lost";
  finished: true;
  message: string;
}

export type RunReport =
  | { kind: "claude"; id: string; finished: true; result: ClaudeTaskResult }
  | { kind: "task-list"; id: string; finished: true; summary: TaskListSummary }
  | LostRun
  | (RunningRun & { finished: false });

export class UnknownRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownRunError";
  }
}

/**
 * The run an id names (a claude task's execution id, a task-list run id, or the first 4+
 * characters of one), as { kind, id } with the full id. Throws UnknownRunError otherwise.
 */
export function resolveRun(home: string, id: string): { kind: RunKind; id: string } {
  let target;
  try {
    target = findRunFolder(home, id);
  } catch (err) {
    if (err instanceof RunFolderNotFoundError) throw new UnknownRunError(err.message);
    throw err;
  }
  if (target.type === "task-list") return { kind: "task-list", id: target.runId };
  if (target.kind === "claude") return { kind: "claude", id: target.id };
  throw new UnknownRunError(`${target.id} is a command, not a claude task or a task list: its output is in cc-executor logs ${target.id}`);
}

/** Reads where the run stands now (`id` as resolveRun returns it). */
export function readRun(home: string, run: { kind: RunKind; id: string }): RunReport {
  return run.kind === "task-list" ? readTaskList(home, run.id) : readClaude(home, run.id);
}

function readTaskList(home: string, id: string): RunReport {
  let state: RunState;
  try {
    state = loadRunState(home, id); // "interrupted" when the process running it is gone
  } catch (err) {
    if (err instanceof RunNotFoundError) throw new UnknownRunError(err.message);
    throw err;
  }
  const statePath = checkpointPath(home, id);
  if (state.status !== "running") return { kind: "task-list", id, finished: true, summary: finalSummary(state, statePath) };
  const running = state.list.tasks.find((t) => state.tasks[t.id]?.status === "running");
  const entry = running ? state.tasks[running.id] : undefined;
  const progress: TaskListProgress | undefined =
    running && entry && entry.status === "running"
      ? {
          task: running.index,
          total: state.list.tasks.length,
          completed: Object.values(state.tasks).filter((t) => t.status === "completed").length,
          title: running.title,
          task_started_at: entry.started_at,
          execution_id: entry.execution_id,
        }
      : undefined;
  return { kind: "task-list", id, finished: false, status: "running", started_at: state.started_at, progress };
}

/** The run's report.json when it is the one of this ending (a resumed run rewrites it), else the summary from the checkpoint. */
function finalSummary(state: RunState, statePath: string): TaskListSummary {
  const fromCheckpoint = summarize(state, statePath);
  try {
    const report = JSON.parse(readFileSync(join(statePath, "..", "report.json"), "utf8")) as TaskListSummary;
    if (report.run_id === state.run_id && report.status === state.status && report.ended_at === state.ended_at) return report;
  } catch {
    // not written (yet, or the run was interrupted): the checkpoint has everything
  }
  return fromCheckpoint;
}

function readClaude(home: string, id: string): RunReport {
  const dir = executionDir(home, id);
  const result = readJson<ClaudeTaskResult>(join(dir, RunFiles.result));
  if (result) return { kind: "claude", id, finished: true, result };
  const meta = readExecutionFile(join(dir, RunFiles.execution));
  // result.json is written before execution.json's end: an end without a result means it was never written.
  if (meta?.status) return lost(id, `it ended (${meta.status}${meta.message ? `: ${meta.message}` : ""}) without a result file`);
  if (meta && !writerAlive(meta.writer)) return lost(id, `the process running it (pid ${meta.writer.pid}) stopped before it finished; run it again`);
  return { kind: "claude", id, finished: false, status: "running", ...(meta ? { started_at: meta.started_at } : {}) };
}

function lost(id: string, message: string): LostRun {
  return { id, kind: "claude", status: "lost", finished: true, message };
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined; // absent, or being replaced (read again on the next look)
  }
}

/** A cheap fingerprint of the files a run's state is read from: read again only when it changes. */
function fingerprint(home: string, run: { kind: RunKind; id: string }): string {
  const dir = executionDir(home, run.id);
  const names = run.kind === "task-list" ? [RunFiles.checkpoint, RunFiles.journal, "report.json"] : [RunFiles.result, RunFiles.execution];
  return names
    .map((n) => {
      try {
        const s = statSync(join(dir, n));
        return `${s.mtimeMs}:${s.size}`;
      } catch {
        return "-";
      }
    })
    .join("|");
}

/** Unchanged files are still read this often: the process running the work may have died. */
const LIVENESS_CHECK_MS = 2000;

export interface WaitOptions {
  /** Epoch ms: give up and report "running" then. */
  deadline: number;
  /** Between looks at the run folder (default 250 ms). */
  pollMs?: number;
  /** Called with each state read while waiting (progress display). */
  onChange?: (report: RunReport) => void;
}

/**
 * Waits until the run has finished or the deadline has passed, whichever comes first, and
 * returns where it stands then. Work whose runner died ends the wait: a task list as
 * "interrupted", a claude task as lost.
 */
export async function waitForRun(home: string, run: { kind: RunKind; id: string }, options: WaitOptions): Promise<RunReport> {
  let report = readRun(home, run);
  let seen = fingerprint(home, run);
  let readAt = Date.now();
  options.onChange?.(report);
  while (!report.finished && Date.now() < options.deadline) {
    await new Promise((r) => setTimeout(r, Math.min(options.pollMs ?? 250, Math.max(0, options.deadline - Date.now()))));
    const now = fingerprint(home, run);
    if (now === seen && Date.now() - readAt < LIVENESS_CHECK_MS) continue;
    seen = now;
    readAt = Date.now();
    report = readRun(home, run);
    options.onChange?.(report);
  }
  return report;
}
