import { resolve } from "node:path";
import { emptyHookSet, type HookSet } from "../hooks/index.js";
import { silentLogger, type Logger } from "../logger.js";
import { defaultHome } from "../paths.js";
import { BudgetMeter, emptySpent } from "./budget.js";
import { CheckpointWriter, currentRunner, loadRunState, newRunId, type RunningTask, type RunState, type RunStatus } from "./checkpoint.js";
import { checkReferences, DEFAULT_CONTEXT_CHARS } from "./context.js";
import type { TaskListEvent } from "./events.js";
import { LocalExecutor, type TaskExecution, type TaskExecutor } from "./executor.js";
import { planPhases, type MergeStep, type TaskList, type TaskOutcome, type TaskSpec } from "./model.js";
import { resolveTaskList, type TaskListSource } from "./parse.js";
import { runPhase } from "./phase-runner.js";
import { writeReports } from "./reports.js";
import type { RunContext, TaskListOptions } from "./run-context.js";
import { summarize, type TaskListSummary } from "./summary.js";
import { policyOf, settled } from "./task-runner.js";

export { DEFAULT_TIMEOUTS } from "./task-runner.js";
export type { TaskListOptions } from "./run-context.js";

/**
 * One run of a task list: tasks in strict order (parallel groups fan out up to `concurrency`,
 * isolated in git worktrees, and join — merges included — before the next task), each claude
 * task given the results of the earlier ones, failure policies and the budget applied, and a
 * checkpoint written after every step so that `resume` reruns nothing that completed.
 */
export class TaskListRun implements RunContext {
  readonly runId: string;
  /** checkpoint.json: complete once the run has ended. */
  readonly statePath: string;
  /** journal.jsonl: every task's entry so far, one JSON object per line (CC_EXECUTOR_STATE_FILE). */
  readonly journalPath: string;
  readonly finished: Promise<TaskListSummary>;
  readonly state: RunState;
  readonly home: string;
  readonly executor: TaskExecutor;
  readonly hooks: HookSet;
  readonly logger: Logger;
  readonly budget: BudgetMeter;
  readonly running = new Map<string, TaskExecution>();
  private readonly skipped = new Set<string>();
  private canceledFlag = false;
  private saveFailed = false;
  private readonly checkpoint: CheckpointWriter;
  private recordedRow: string | undefined;

  constructor(
    readonly list: TaskList,
    readonly options: TaskListOptions,
    resumed?: RunState,
  ) {
    checkReferences(list);
    this.home = options.home ?? defaultHome();
    this.logger = options.logger ?? silentLogger;
    this.hooks = options.hooks ?? emptyHookSet();
    this.executor = options.executor ?? new LocalExecutor({ hooks: options.hooks, runs: { home: this.home, logger: this.logger }, ...options.local, logger: options.local?.logger ?? this.logger });
    const now = new Date().toISOString();
    const runOptions: RunState["options"] = {
      concurrency: options.concurrency ?? 4,
      on_failure: options.onFailure,
      context_chars: options.contextChars ?? DEFAULT_CONTEXT_CHARS,
      ...(options.isolation ? { isolation: options.isolation } : {}),
      ...(options.resumeSessions === false ? { resume_sessions: false } : {}),
    };
    // A budget given now wins (on resume: the new total); else the one the run had, else the list's.
    const budget = options.budget ?? resumed?.options.budget ?? list.budget;
    if (budget) runOptions.budget = budget;
    this.state = resumed
      ? { ...resumed, status: "running", updated_at: now, ended_at: undefined, runner: currentRunner(), sessions: resumed.sessions + 1, options: runOptions }
      : {
          version: 1,
          run_id: options.runId ?? newRunId(),
          name: list.name,
          source: list.source,
          cwd: resolve(options.cwd ?? process.cwd()),
          status: "running",
          started_at: now,
          updated_at: now,
          runner: currentRunner(),
          sessions: 1,
          options: runOptions,
          list,
          tasks: {},
        };
    this.state.spent ??= emptySpent();
    this.budget = new BudgetMeter(this.state.options.budget, this.state.spent);
    this.runId = this.state.run_id;
    this.checkpoint = new CheckpointWriter(this.home, this.runId);
    this.statePath = this.checkpoint.checkpointPath;
    this.journalPath = this.checkpoint.journalPath;
    this.write(() => this.checkpoint.start(this.state));
    this.finished = this.run(Boolean(resumed));
  }

  get canceled(): boolean {
    return this.canceledFlag;
  }

  /** Stops the running tasks (their process groups are killed) and starts no more; resume continues. */
  cancel(): Promise<TaskListSummary> {
    this.canceledFlag = true;
    for (const exec of this.running.values()) exec.cancel();
    return this.finished;
  }

  pause(): boolean {
    let any = false;
    for (const exec of this.running.values()) any = exec.pause() || any;
    return any;
  }

  resume(): boolean {
    let any = false;
    for (const exec of this.running.values()) any = exec.resume() || any;
    return any;
  }

  emit(event: TaskListEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (err) {
      this.logger.warn({ err }, "task-list onEvent listener threw");
    }
  }

  setTask(entry: TaskOutcome | RunningTask): void {
    this.state.tasks[entry.id] = entry;
    this.write(() => this.checkpoint.record(entry));
  }

  setMerge(step: MergeStep): void {
    const merge = { ...step };
    this.state.merges = { ...this.state.merges, [step.task_id]: merge };
    this.write(() => this.checkpoint.record({ type: "merge", merge }));
  }

  spend(key: string, outcome: TaskOutcome): void {
    const added = this.budget.add(key, outcome);
    if (added) this.write(() => this.checkpoint.record({ type: "spend", task_id: key, ...added }));
  }

  private write(write: () => void): void {
    this.state.updated_at = new Date().toISOString();
    this.recordRun();
    try {
      write();
    } catch (err) {
      if (!this.saveFailed) this.logger.error({ err: (err as Error).message, path: this.statePath }, "cannot write the checkpoint; this run cannot be resumed until it can");
      this.saveFailed = true;
    }
  }

  skip(task: TaskSpec, reason: string): void {
    this.skipped.add(task.id);
    this.emit({ type: "task.skipped", run_id: this.runId, task_id: task.id, index: task.index, title: task.title, reason });
  }

  /** The run's row in the history store (list, status, counts). */
  private recordRun(): void {
    if (!this.options.history) return;
    const entries = Object.values(this.state.tasks);
    const run = {
      run_id: this.state.run_id,
      name: this.state.name,
      source: this.state.source ?? "inline",
      status: this.state.status,
      started_at: Date.parse(this.state.started_at),
      ended_at: this.state.ended_at ? Date.parse(this.state.ended_at) : undefined,
      tasks_total: this.list.tasks.length,
      tasks_done: entries.filter((e) => e.status === "completed").length,
      tasks_failed: entries.filter((e) => e.status === "failed" || e.status === "timeout").length,
      checkpoint_path: this.statePath,
    };
    // A task starting changes the checkpoint, not the run's row: write the row only when it changes.
    const row = JSON.stringify(run);
    if (row === this.recordedRow) return;
    this.recordedRow = row;
    this.options.history.taskListRun(run);
  }

  private outcome(id: string): TaskOutcome | undefined {
    const entry = this.state.tasks[id];
    return entry && entry.status !== "running" ? entry : undefined;
  }

  private isSettled(task: TaskSpec): boolean {
    return settled(this.outcome(task.id), policyOf(task, this.list, this.options));
  }

  /** A phase is done when its tasks are settled and its merges made (or kept for good). */
  private phaseDone(tasks: TaskSpec[]): boolean {
    const merges = this.state.merges ?? {};
    return tasks.every((t) => this.isSettled(t) && (!merges[t.id] || ["merged", "empty", "kept"].includes(merges[t.id]!.status)));
  }

  private async run(resumed: boolean): Promise<TaskListSummary> {
    await new Promise((r) => setImmediate(r)); // let the caller attach to `finished` and return first
    const list = this.list;
    const alreadyDone = list.tasks.filter((t) => this.isSettled(t)).map((t) => t.id);
    const budget = this.budget.limits ? { budget: this.budget.status() } : {};
    this.emit({ type: "tasklist.started", run_id: this.runId, name: list.name, total: list.tasks.length, resumed, already_done: alreadyDone, state_path: this.statePath, ...budget });

    let stop: "failure" | "budget" | undefined;
    for (const phase of planPhases(list)) {
      const tasks = phase.kind === "sequential" ? [phase.task] : phase.tasks;
      if (this.phaseDone(tasks)) continue;
      const toRun = tasks.filter((t) => !this.isSettled(t));
      if (stop === "failure" || this.canceled) {
        for (const t of toRun) this.skip(t, this.canceled ? "the run was canceled" : "an earlier task failed");
        continue;
      }
      if (stop === "budget" || this.budget.exhausted()) {
        stop = "budget"; // left pending, not skipped: a resume with a larger budget runs them
        continue;
      }
      // Everything before this phase, in list order: completed and failed tasks alike.
      const earlier = list.tasks.filter((t) => t.index < tasks[0]!.index).flatMap((t) => this.outcome(t.id) ?? []);
      stop = (await runPhase(this, phase, toRun, earlier)).stop;
    }
    return this.finish(this.canceled ? "canceled" : stop === "budget" ? "budget_exhausted" : stop ? "failed" : "completed");
  }

  private async finish(status: RunStatus): Promise<TaskListSummary> {
    this.state.status = status;
    this.state.ended_at = new Date().toISOString();
    this.write(() => this.checkpoint.finish(this.state));
    const summary = writeReports(this.home, summarize(this.state, this.statePath, this.skipped), this.options.report, this.logger);
    const post = await this.hooks.run("post-task-list", { execution_id: this.runId, cwd: this.state.cwd, task_list: { run_id: this.runId, name: this.list.name, source: this.list.source }, result: summary });
    for (const w of post.warningDetails) this.logger.warn({ hook: w.hook, event: w.event }, w.message);
    this.emit({ type: "tasklist.completed", run_id: this.runId, summary });
    return summary;
  }
}

/** Starts a task list; throws a TaskListError at once when the list is invalid. */
export function startTaskList(input: TaskListSource, options: TaskListOptions = {}): TaskListRun {
  return new TaskListRun(resolveTaskList(input), options);
}

/** A pre-task-list hook refused to run the list. */
export class TaskListRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TaskListRefusedError";
  }
}

/** Runs the pre-task-list hooks; throws TaskListRefusedError when one refuses. */
export async function checkPreTaskList(hooks: HookSet | undefined, list: TaskList, context: { cwd?: string; run_id?: string } = {}): Promise<void> {
  if (!hooks) return;
  const pre = await hooks.run("pre-task-list", { cwd: context.cwd, task_list: { run_id: context.run_id, name: list.name, source: list.source, tasks: list.tasks.map((t) => ({ id: t.id, title: t.title, method: t.method })) } });
  if (!pre.proceed) throw new TaskListRefusedError(pre.message ?? "refused by a pre-task-list hook");
}

/** Runs a task list to the end and returns its summary (never throws for failed tasks). */
export async function runTaskList(input: TaskListSource, options: TaskListOptions = {}): Promise<TaskListSummary> {
  const list = resolveTaskList(input);
  await checkPreTaskList(options.hooks, list, { cwd: options.cwd });
  return new TaskListRun(list, options).finished;
}

export class RunNotResumableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunNotResumableError";
  }
}

/**
 * Continues a run from its checkpoint: completed tasks (and failed ones under "continue") are kept,
 * everything else runs again, in order; pending merges are made. Refuses a run that is still
 * running or already completed, and a budget-stopped run whose budget is not raised.
 */
export function resumeTaskList(runId: string, options: TaskListOptions = {}): TaskListRun {
  const home = options.home ?? defaultHome();
  const state = loadRunState(home, runId);
  if (state.status === "running") throw new RunNotResumableError(`run ${runId} is still running (process ${state.runner.pid} on ${state.runner.host})`);
  if (state.status === "completed") throw new RunNotResumableError(`run ${runId} already completed; nothing to resume`);
  const opts: TaskListOptions = {
    concurrency: state.options.concurrency,
    onFailure: state.options.on_failure,
    contextChars: state.options.context_chars,
    isolation: state.options.isolation,
    resumeSessions: state.options.resume_sessions,
    cwd: state.cwd,
    ...options,
    home,
  };
  const budget = new BudgetMeter(opts.budget ?? state.options.budget, state.spent ?? emptySpent());
  if (budget.exhausted()) {
    const s = budget.status();
    const what = [s.max_cost_usd !== undefined ? `$${s.spent_cost_usd} of $${s.max_cost_usd}` : "", s.max_tokens !== undefined ? `${s.spent_tokens} of ${s.max_tokens} tokens` : ""].filter(Boolean).join(", ");
    throw new RunNotResumableError(`run ${runId} has spent its budget (${what}); resume it with a larger one (--max-cost / --max-tokens)`);
  }
  return new TaskListRun(state.list, opts, state);
}
