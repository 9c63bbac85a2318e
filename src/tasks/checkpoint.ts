import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { statePaths } from "../paths.js";
import { processStartTime } from "../process/index.js";
import type { FailurePolicy, TaskList, TaskOutcome } from "./model.js";

export type RunStatus = "running" | "completed" | "failed" | "canceled" | "interrupted";

/** A task that has started and not ended: what the checkpoint holds while it runs. */
export interface RunningTask {
  id: string;
  status: "running";
  started_at: string;
  attempts: number;
  execution_id: string;
}

/**
 * Everything needed to resume a task-list run, written after every task starts and ends. The task
 * list itself is kept, so a resume runs the same tasks even if the file changed or is gone.
 */
export interface RunState {
  version: 1;
  run_id: string;
  name: string;
  source?: string;
  cwd: string;
  status: RunStatus;
  started_at: string;
  updated_at: string;
  ended_at?: string;
  /** The process running the list, to tell a live run from one whose runner died. */
  runner: { pid: number; host: string; start_time?: number };
  /** Runs of this list: 1, then +1 per resume. */
  sessions: number;
  options: { concurrency: number; on_failure?: FailurePolicy; context_chars: number };
  list: TaskList;
  tasks: Record<string, TaskOutcome | RunningTask>;
}

/** Sortable, readable and unique: tl-20261125-163829-3f9a1c. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `tl-${stamp}-${randomBytes(3).toString("hex")}`;
}

const RUN_ID = /^tl-[\w-]+$/;

export function isRunId(value: string): boolean {
  return RUN_ID.test(value);
}

export function runDir(home: string, runId: string): string {
  if (!isRunId(runId)) throw new Error(`not a task-list run id: ${JSON.stringify(runId)} (they look like tl-20261125-163829-3f9a1c)`);
  return join(statePaths(home).runsDir, runId);
}

export function checkpointPath(home: string, runId: string): string {
  return join(runDir(home, runId), "checkpoint.json");
}

/** Writes the file whole or not at all: a crash mid-write leaves the previous checkpoint intact. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function saveRunState(home: string, state: RunState): string {
  const dir = runDir(home, state.run_id);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "checkpoint.json");
  writeAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
  return path;
}

export class RunNotFoundError extends Error {
  constructor(runId: string, home: string) {
    super(`no task-list run ${runId} in ${statePaths(home).runsDir} (see: cc-executor tasks list)`);
    this.name = "RunNotFoundError";
  }
}

export function loadRunState(home: string, runId: string): RunState {
  let text: string;
  try {
    text = readFileSync(checkpointPath(home, runId), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new RunNotFoundError(runId, home);
    throw err;
  }
  const state = JSON.parse(text) as RunState;
  return { ...state, status: effectiveStatus(state) };
}

/** The runner is alive when its pid is a live (non-zombie) process started when the runner started (no pid reuse). */
function alive(runner: RunState["runner"]): boolean {
  const started = processStartTime(runner.pid);
  return started !== undefined && (runner.start_time === undefined || started === runner.start_time);
}

/** A run whose checkpoint says "running" but whose runner is gone was interrupted (crash, kill -9). */
export function effectiveStatus(state: RunState): RunStatus {
  if (state.status !== "running") return state.status;
  if (state.runner.host !== hostname()) return "running";
  return state.runner.pid === process.pid || alive(state.runner) ? "running" : "interrupted";
}

/** Every task-list run in the state directory, newest first. Unreadable checkpoints are skipped. */
export function listRunStates(home: string): RunState[] {
  let names: string[];
  try {
    names = readdirSync(statePaths(home).runsDir).filter(isRunId);
  } catch {
    return [];
  }
  const states: RunState[] = [];
  for (const name of names) {
    try {
      states.push(loadRunState(home, name));
    } catch {
      // a run folder without a (complete) checkpoint: nothing to list or resume
    }
  }
  return states.sort((a, b) => b.started_at.localeCompare(a.started_at));
}

export function currentRunner(): RunState["runner"] {
  return { pid: process.pid, host: hostname(), start_time: processStartTime(process.pid) };
}
