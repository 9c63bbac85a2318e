import { randomBytes } from "node:crypto";
import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { statePaths } from "../paths.js";
import { processStartTime } from "../process/index.js";
import { addSpend, emptySpent, type Spent } from "./budget.js";
import type { Budget, FailurePolicy, Isolation, MergeStep, TaskList, TaskOutcome } from "./model.js";
import { entryNames } from "../dir-entries.js";

/** `budget_exhausted`: stopped because the list's budget was spent; resumable (with a larger one). */
export type RunStatus = "running" | "completed" | "failed" | "canceled" | "interrupted" | "budget_exhausted";

/** A task that has started and not ended: what the checkpoint holds while it runs. */
export interface RunningTask {
  id: string;
  status: "running";
  started_at: string;
  attempts: number;
  execution_id: string;
  /** claude tasks: the Claude session, once the CLI named it (a resumed run continues it). */
  session_id?: string;
  /** Where it runs when not in the run's directory (an isolated task's worktree). */
  cwd?: string;
}

/**
 * Everything needed to resume a task-list run. The task list itself is kept, so a resume runs the
 * same tasks even if the file changed or is gone. On disk it is checkpoint.json (written when a run
 * starts or resumes, and when it ends) plus journal.jsonl, to which every task's entry is appended
 * when it starts and when it ends: a task costs one short append, however long the list.
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
  options: {
    concurrency: number;
    on_failure?: FailurePolicy;
    context_chars: number;
    /** Overrides the list's isolation of parallel groups. */
    isolation?: Isolation;
    /** The run's budget (the list's, or as given when the run was started or last resumed). */
    budget?: Budget;
    /** false: retries and resumes start claude tasks afresh instead of continuing their sessions. */
    resume_sessions?: boolean;
  };
  list: TaskList;
  tasks: Record<string, TaskOutcome | RunningTask>;
  /** What the tasks spent so far (every attempt, merge resolvers included). */
  spent?: Spent;
  /** Isolated tasks' branches and their merges, by task id. */
  merges?: Record<string, MergeStep>;
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

/** One JSON object per line: a task's entry when it starts (status "running") and its outcome when it ends. */
export function journalPath(home: string, runId: string): string {
  return join(runDir(home, runId), "journal.jsonl");
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

/**
 * Writes a run's state to disk as it changes, at a cost per task that does not grow with the list:
 * checkpoint.json is written whole (atomically) only when the run starts or resumes and when it
 * ends; in between every task's entry is appended to journal.jsonl, flushed to disk (fdatasync)
 * when it is an outcome, so that a resume after a crash or kill -9 runs no completed task again.
 * The journal holds every entry of the run so far (a resume seeds it with the earlier ones), so a
 * task can read all earlier results from it; it is removed once checkpoint.json holds everything.
 */
export class CheckpointWriter {
  private journal: number | undefined;
  /** An append failed part way: the next entry starts on a new line, so only the torn one is lost. */
  private torn = false;
  readonly checkpointPath: string;
  readonly journalPath: string;

  constructor(home: string, runId: string) {
    this.checkpointPath = checkpointPath(home, runId);
    this.journalPath = journalPath(home, runId);
  }

  /** The run starts (or resumes, with the entries of its earlier sessions in state.tasks). */
  start(state: RunState): void {
    this.close();
    mkdirSync(dirname(this.checkpointPath), { recursive: true, mode: 0o700 });
    writeAtomic(this.checkpointPath, `${JSON.stringify(state, null, 2)}\n`);
    writeAtomic(this.journalPath, Object.values(state.tasks).map((e) => `${JSON.stringify(e)}\n`).join(""));
    this.journal = openSync(this.journalPath, "a", 0o600);
  }

  record(entry: JournalEntry): void {
    if (this.journal === undefined) throw new Error("the checkpoint journal is not open (the run's start could not be written)");
    const line = `${this.torn ? "\n" : ""}${JSON.stringify(entry)}\n`;
    this.torn = true;
    if (writeSync(this.journal, line) < Buffer.byteLength(line)) throw new Error(`short write to ${this.journalPath}`);
    this.torn = false;
    // A task that ran must never run again after a crash; a start that is lost only shows it pending.
    if (!("status" in entry) || entry.status !== "running") fdatasyncSync(this.journal);
  }

  /** The run ended: checkpoint.json gets every entry, the journal goes. */
  finish(state: RunState): void {
    this.close();
    mkdirSync(dirname(this.checkpointPath), { recursive: true, mode: 0o700 });
    writeAtomic(this.checkpointPath, `${JSON.stringify(state, null, 2)}\n`);
    rmSync(this.journalPath, { force: true });
  }

  close(): void {
    if (this.journal === undefined) return;
    const fd = this.journal;
    this.journal = undefined;
    closeSync(fd);
  }
}

/**
 * A journal line: a task's entry (when it starts, and its outcome when it ends), an isolated
 * task's merge step as it changes, or what one task run spent (added to the checkpoint's total).
 */
export type JournalEntry = TaskOutcome | RunningTask | { type: "merge"; merge: MergeStep } | { type: "spend"; task_id: string; cost_usd: number; tokens: number };

function isEntry(e: unknown): e is JournalEntry {
  if (!e || typeof e !== "object") return false;
  const o = e as Record<string, unknown>;
  if (o.type === "merge") return typeof (o.merge as MergeStep | undefined)?.task_id === "string";
  if (o.type === "spend") return typeof o.task_id === "string" && typeof o.cost_usd === "number" && typeof o.tokens === "number";
  return typeof o.id === "string" && typeof o.status === "string";
}

/** The journal's entries in order; a line that does not parse (torn by a crash) is skipped. */
function readJournal(path: string): JournalEntry[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const entries: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const entry = JSON.parse(line) as unknown;
      if (isEntry(entry)) entries.push(entry);
    } catch {
      // torn by a crash in the middle of an append
    }
  }
  return entries;
}

/** Applies one journal line to the state read from checkpoint.json. */
function applyEntry(state: RunState, entry: JournalEntry): void {
  if ("type" in entry && entry.type === "merge") {
    state.merges = { ...state.merges, [entry.merge.task_id]: entry.merge };
    return;
  }
  if ("type" in entry && entry.type === "spend") {
    addSpend((state.spent ??= emptySpent()), entry.task_id, entry);
    return;
  }
  const task = entry as TaskOutcome | RunningTask;
  state.tasks[task.id] = task;
  const at = "ended_at" in task ? task.ended_at : task.started_at;
  if (at > state.updated_at) state.updated_at = at;
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
  for (const entry of readJournal(journalPath(home, runId))) applyEntry(state, entry);
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
  const states: RunState[] = [];
  for (const name of entryNames(statePaths(home).runsDir).filter(isRunId)) {
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
