import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ClaudeTaskResult } from "../claude/index.js";
import { statePaths } from "../paths.js";
import { checkpointPath, isRunId, loadRunState, RunNotFoundError, summarize, type RunState, type TaskListSummary } from "../tasks/index.js";

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

export type RunReport =
  | { kind: "claude"; id: string; finished: true; result: ClaudeTaskResult }
  | { kind: "task-list"; id: string; finished: true; summary: TaskListSummary }
  | (RunningRun & { finished: false });

export class UnknownRunError extends Error {
  constructor(id: string, home: string) {
    super(`no run ${id} in ${statePaths(home).runsDir} (a claude task's execution id or a task-list run id, tl-…; see: cc-executor history list, cc-executor tasks list)`);
    this.name = "UnknownRunError";
  }
}

const EXECUTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function runKindOf(id: string): RunKind | undefined {
  if (isRunId(id)) return "task-list";
  if (EXECUTION_ID.test(id)) return "claude";
  return undefined;
}

/** Reads where the run stands now. Throws UnknownRunError for an id with no run folder. */
export function readRun(home: string, id: string): RunReport {
  const kind = runKindOf(id);
  if (kind === "task-list") return readTaskList(home, id);
  if (kind === "claude") return readClaude(home, id);
  throw new UnknownRunError(id, home);
}

function readTaskList(home: string, id: string): RunReport {
  let state: RunState;
  try {
    state = loadRunState(home, id); // "interrupted" when the process running it is gone
  } catch (err) {
    if (err instanceof RunNotFoundError) throw new UnknownRunError(id, home);
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
  const dir = join(statePaths(home).runsDir, id);
  try {
    const result = JSON.parse(readFileSync(join(dir, "result.json"), "utf8")) as ClaudeTaskResult;
    return { kind: "claude", id, finished: true, result };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
  }
  try {
    statSync(dir);
  } catch {
    throw new UnknownRunError(id, home);
  }
  return { kind: "claude", id, finished: false, status: "running" };
}

/** A cheap fingerprint of the files a run's state is read from: read again only when it changes. */
export function runFingerprint(home: string, id: string): string {
  const dir = join(statePaths(home).runsDir, id);
  const names = runKindOf(id) === "task-list" ? ["checkpoint.json", "report.json"] : ["result.json"];
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

const LIVENESS_CHECK_MS = 2000;

export interface WaitOptions {
  /** Epoch ms: give up and report "running" then. */
  deadline: number;
  /** Between looks at the run folder (default 250 ms). */
  pollMs?: number;
  /** Called with each new state seen while waiting (progress display). */
  onChange?: (report: RunReport) => void;
}

/**
 * Waits until the run has finished or the deadline has passed, whichever comes first, and
 * returns where it stands then. A task list whose runner died ends the wait as "interrupted".
 */
export async function waitForRun(home: string, id: string, options: WaitOptions): Promise<RunReport> {
  let report = readRun(home, id);
  let seen = runFingerprint(home, id);
  let readAt = Date.now();
  options.onChange?.(report);
  while (!report.finished && Date.now() < options.deadline) {
    await new Promise((r) => setTimeout(r, Math.min(options.pollMs ?? 250, Math.max(0, options.deadline - Date.now()))));
    const now = runFingerprint(home, id);
    // Unchanged files: still read a task list now and then, since its runner may have died.
    if (now === seen && (report.kind === "claude" || Date.now() - readAt < LIVENESS_CHECK_MS)) continue;
    seen = now;
    readAt = Date.now();
    report = readRun(home, id);
    options.onChange?.(report);
  }
  return report;
}
