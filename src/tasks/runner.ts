import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { emptyHookSet, type HookSet } from "../hooks/index.js";
import { silentLogger, type Logger } from "../logger.js";
import { historyStatus, type HistoryRecorder } from "../store/index.js";
import { defaultHome } from "../paths.js";
import { CheckpointWriter, currentRunner, loadRunState, newRunId, runDir, type RunningTask, type RunState } from "./checkpoint.js";
import { checkReferences, composePrompt, DEFAULT_CONTEXT_CHARS } from "./context.js";
import type { TaskListEvent, TimeoutChoice } from "./events.js";
import { LocalExecutor, newExecutionId, refusedOutcome, type LocalExecutorOptions, type TaskActivity, type TaskExecution, type TaskExecutor, type TaskRequest } from "./executor.js";
import { planPhases, type FailurePolicy, type TaskList, type TaskOutcome, type TaskSpec } from "./model.js";
import { resolveTaskList, type TaskListSource } from "./parse.js";
import { markdownReport, summarize, type TaskListSummary } from "./summary.js";

export const DEFAULT_TIMEOUTS = { claude: 1800, direct: 600 } as const;

export interface TaskListOptions {
  /** Working directory of every task (default: this process's). */
  cwd?: string;
  /** State directory: checkpoints and reports go to <home>/runs/<run id>/. */
  home?: string;
  /** Most tasks of one parallel group running at once (default 4). */
  concurrency?: number;
  /** Failure policy for tasks that name none (overrides the list's own). */
  onFailure?: FailurePolicy;
  /** Size limit of the "results of earlier tasks" prompt section, in characters. */
  contextChars?: number;
  /** Timeouts for tasks without one, when no estimate is available. */
  defaultTimeouts?: { claude?: number; direct?: number };
  /** Estimates a timeout for a task without one (from history); undefined: use the default. */
  estimateTimeout?: (task: TaskSpec) => Promise<Omit<TimeoutChoice, "basis"> & { basis: "history" | "default" } | undefined>;
  /** Added to every task's environment. */
  env?: Record<string, string>;
  /** Where tasks run (default: this machine). */
  executor?: TaskExecutor;
  /** pre/post-task and post-task-list hooks (pre-task-list: runTaskList and the server run it before starting). */
  hooks?: HookSet;
  /** Records every task and the run in the history store, and estimates timeouts from it. */
  history?: HistoryRecorder;
  /** Options of the default local executor. */
  local?: LocalExecutorOptions;
  /** Also write the report here: JSON when the name ends in .json, else markdown. */
  report?: string;
  runId?: string;
  logger?: Logger;
  onEvent?: (event: TaskListEvent) => void;
}

function policyOf(task: TaskSpec, list: TaskList, options: TaskListOptions): FailurePolicy {
  return task.onFailure ?? options.onFailure ?? list.onFailure;
}

/** A task that needs no rerun on resume: it completed, or it failed under "continue". */
function settled(outcome: TaskOutcome | undefined, policy: FailurePolicy): boolean {
  if (!outcome) return false;
  return outcome.status === "completed" || (policy.action === "continue" && outcome.status !== "canceled");
}

/**
 * One run of a task list: tasks in strict order (parallel groups fan out up to `concurrency` and
 * join before the next task), each claude task given the results of the earlier ones, failure
 * policies applied, and a checkpoint written after every step so that `resume` reruns nothing
 * that completed.
 */
export class TaskListRun {
  readonly runId: string;
  /** checkpoint.json: complete once the run has ended. */
  readonly statePath: string;
  /** journal.jsonl: every task's entry so far, one JSON object per line (CC_EXECUTOR_STATE_FILE). */
  readonly journalPath: string;
  readonly finished: Promise<TaskListSummary>;
  private readonly state: RunState;
  private readonly home: string;
  private readonly executor: TaskExecutor;
  private readonly hooks: HookSet;
  private readonly logger: Logger;
  private readonly running = new Map<string, TaskExecution>();
  private readonly skipped = new Set<string>();
  private canceled = false;
  private saveFailed = false;
  private readonly checkpoint: CheckpointWriter;
  private recordedRow: string | undefined;

  constructor(
    readonly list: TaskList,
    private readonly options: TaskListOptions,
    resumed?: RunState,
  ) {
    checkReferences(list);
    this.home = options.home ?? defaultHome();
    this.logger = options.logger ?? silentLogger;
    this.hooks = options.hooks ?? emptyHookSet();
    this.executor = options.executor ?? new LocalExecutor({ hooks: options.hooks, runs: { home: this.home, logger: this.logger }, ...options.local, logger: options.local?.logger ?? this.logger });
    const now = new Date().toISOString();
    const runOptions = { concurrency: options.concurrency ?? 4, on_failure: options.onFailure, context_chars: options.contextChars ?? DEFAULT_CONTEXT_CHARS };
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
    this.runId = this.state.run_id;
    this.checkpoint = new CheckpointWriter(this.home, this.runId);
    this.statePath = this.checkpoint.checkpointPath;
    this.journalPath = this.checkpoint.journalPath;
    this.save(() => this.checkpoint.start(this.state));
    this.finished = this.run(Boolean(resumed));
  }

  /** Stops the running tasks (their process groups are killed) and starts no more; resume continues. */
  cancel(): Promise<TaskListSummary> {
    this.canceled = true;
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

  private emit(event: TaskListEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (err) {
      this.logger.warn({ err }, "task-list onEvent listener threw");
    }
  }

  /** Sets a task's entry and appends it to the checkpoint's journal. */
  private setTask(entry: TaskOutcome | RunningTask): void {
    this.state.tasks[entry.id] = entry;
    this.save(() => this.checkpoint.record(entry));
  }

  private save(write: () => void): void {
    this.state.updated_at = new Date().toISOString();
    this.recordRun();
    try {
      write();
    } catch (err) {
      if (!this.saveFailed) this.logger.error({ err: (err as Error).message, path: this.statePath }, "cannot write the checkpoint; this run cannot be resumed until it can");
      this.saveFailed = true;
    }
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

  private async run(resumed: boolean): Promise<TaskListSummary> {
    await new Promise((r) => setImmediate(r)); // let the caller attach to `finished` and return first
    const list = this.list;
    const alreadyDone = list.tasks.filter((t) => settled(this.outcome(t.id), policyOf(t, list, this.options))).map((t) => t.id);
    this.emit({ type: "tasklist.started", run_id: this.runId, name: list.name, total: list.tasks.length, resumed, already_done: alreadyDone, state_path: this.statePath });

    let stopped = false;
    for (const phase of planPhases(list)) {
      const tasks = (phase.kind === "sequential" ? [phase.task] : phase.tasks).filter((t) => !settled(this.outcome(t.id), policyOf(t, list, this.options)));
      if (tasks.length === 0) continue;
      if (stopped || this.canceled) {
        for (const t of tasks) this.skip(t, this.canceled ? "the run was canceled" : "an earlier task failed");
        continue;
      }
      // Everything before this phase, in list order: completed and failed tasks alike.
      const earlier = list.tasks.filter((t) => t.index < tasks[0]!.index).flatMap((t) => this.outcome(t.id) ?? []);
      const outcomes = await this.runPhase(tasks, earlier);
      stopped = outcomes.some(({ task, outcome }) => outcome && !settled(outcome, policyOf(task, list, this.options)));
    }

    this.state.status = this.canceled ? "canceled" : stopped ? "failed" : "completed";
    this.state.ended_at = new Date().toISOString();
    this.save(() => this.checkpoint.finish(this.state));
    const summary = this.writeReports(summarize(this.state, this.statePath, this.skipped));
    const post = await this.hooks.run("post-task-list", { execution_id: this.runId, cwd: this.state.cwd, task_list: { run_id: this.runId, name: this.list.name, source: this.list.source }, result: summary });
    for (const w of post.warningDetails) this.logger.warn({ hook: w.hook, event: w.event }, w.message);
    this.emit({ type: "tasklist.completed", run_id: this.runId, summary });
    return summary;
  }

  /** Runs up to `concurrency` tasks at once; after a failure that stops the list, starts no more. */
  private async runPhase(tasks: TaskSpec[], earlier: TaskOutcome[]): Promise<Array<{ task: TaskSpec; outcome?: TaskOutcome }>> {
    const limit = tasks.length === 1 ? 1 : Math.max(1, this.state.options.concurrency);
    const results: Array<{ task: TaskSpec; outcome?: TaskOutcome }> = tasks.map((task) => ({ task }));
    let next = 0;
    let halt = false;
    const worker = async () => {
      while (next < tasks.length) {
        const slot = results[next++]!;
        if (halt || this.canceled) {
          this.skip(slot.task, this.canceled ? "the run was canceled" : "another task of its group failed");
          continue;
        }
        slot.outcome = await this.runTask(slot.task, earlier);
        if (!settled(slot.outcome, policyOf(slot.task, this.list, this.options))) halt = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
    return results;
  }

  private skip(task: TaskSpec, reason: string): void {
    this.skipped.add(task.id);
    this.emit({ type: "task.skipped", run_id: this.runId, task_id: task.id, index: task.index, title: task.title, reason });
  }

  private async chooseTimeout(task: TaskSpec): Promise<TimeoutChoice> {
    const given = task.timeout ?? this.list.defaults.timeout;
    if (given !== undefined) return { timeout_s: given, basis: "given" };
    const estimate = this.options.estimateTimeout
      ? await this.options.estimateTimeout(task).catch(() => undefined)
      : await this.options.history?.estimate(task.prompt ?? task.command ?? "", task.method === "claude" ? "claude" : "command").catch(() => undefined);
    if (estimate) return { timeout_s: estimate.timeout_s, basis: estimate.basis, samples: estimate.samples };
    return { timeout_s: this.options.defaultTimeouts?.[task.method] ?? DEFAULT_TIMEOUTS[task.method], basis: "default" };
  }

  /** One task with its failure policy: `retry N` reruns it up to N more times. */
  private async runTask(spec: TaskSpec, earlier: TaskOutcome[]): Promise<TaskOutcome> {
    const d = this.list.defaults;
    const task: TaskSpec = { ...spec, tools: spec.tools ?? d.tools, model: spec.model ?? d.model, json: spec.json ?? d.json };
    const policy = policyOf(spec, this.list, this.options);
    const runs = policy.action === "retry" ? policy.times + 1 : 1;
    let outcome: TaskOutcome | undefined;
    for (let attempt = 1; attempt <= runs; attempt++) {
      const timeout = await this.chooseTimeout(task);
      const executionId = newExecutionId();
      const request: TaskRequest = {
        runId: this.runId,
        task,
        timeoutS: timeout.timeout_s,
        cwd: this.state.cwd,
        env: {
          ...this.options.env,
          CC_EXECUTOR_RUN_ID: this.runId,
          CC_EXECUTOR_TASK_ID: task.id,
          CC_EXECUTOR_TASK_INDEX: String(task.index),
          CC_EXECUTOR_STATE_FILE: this.journalPath,
        },
        attempt,
        executionId,
      };
      if (task.method === "claude") request.prompt = composePrompt(task, this.list.tasks.length, earlier, { maxChars: this.state.options.context_chars, resultsPath: this.journalPath, listName: this.list.name });
      else request.command = task.command;

      this.setTask({ id: task.id, status: "running", started_at: new Date().toISOString(), attempts: attempt, execution_id: executionId });
      this.emit({ type: "task.started", run_id: this.runId, task_id: task.id, index: task.index, title: task.title, method: task.method, attempt, execution_id: executionId, timeout });
      const activity = (a: TaskActivity) => this.emit({ type: "task.activity", run_id: this.runId, task_id: task.id, index: task.index, execution_id: executionId, activity: a });
      const hookContext = { execution_id: executionId, task, cwd: request.cwd, task_list: { run_id: this.runId, name: this.list.name } };
      const startedAt = Date.now();
      const pre = await this.hooks.run("pre-task", { ...hookContext, prompt: request.prompt, command: request.command, env: request.env });
      for (const warning of pre.warningDetails) activity({ type: "hook.warning", warning });
      const text = task.prompt ?? task.command ?? "";
      this.options.history?.started({ id: executionId, kind: "task", text, estimatorKind: task.method === "claude" ? "claude" : "command", timeoutS: timeout.timeout_s, timeoutBasis: timeout.basis === "given" ? "explicit" : timeout.basis, taskListRunId: this.runId });
      if (!pre.proceed) {
        outcome = refusedOutcome(request, startedAt, pre.message ?? "refused by a pre-task hook");
      } else {
        if (pre.prompt !== undefined && task.method === "claude") request.prompt = pre.prompt;
        if (pre.command !== undefined && task.method === "direct") request.command = pre.command;
        if (pre.env) request.env = { ...request.env, ...pre.env };
        const exec = this.executor.start(request, activity);
        this.running.set(task.id, exec);
        if (this.canceled) exec.cancel();
        outcome = await exec.outcome;
        this.running.delete(task.id);
      }
      if (this.canceled && outcome.status !== "completed") outcome = { ...outcome, status: "canceled", error_type: "canceled", message: "the run was canceled" };
      const post = await this.hooks.run("post-task", { ...hookContext, prompt: request.prompt, command: request.command, result: outcome });
      for (const warning of post.warningDetails) activity({ type: "hook.warning", warning });
      if (post.rejected && outcome.status === "completed") outcome = { ...outcome, status: "failed", error_type: "hook_rejected", message: `${post.rejected.hook}: ${post.rejected.message}` };
      this.options.history?.ended(executionId, {
        status: historyStatus(outcome.status),
        duration_ms: outcome.duration_ms,
        exit_code: outcome.exit_code ?? undefined,
        error_type: outcome.error_type,
        input_tokens: outcome.input_tokens,
        output_tokens: outcome.output_tokens,
        cost_usd: outcome.cost_usd,
        uuid_verified: outcome.uuid_verified,
        artifacts: outcome.transcript_path ? { transcript: outcome.transcript_path } : undefined,
      });

      this.setTask(outcome);
      if (outcome.status === "completed") {
        this.emit({ type: "task.completed", run_id: this.runId, outcome });
        return outcome;
      }
      const willRetry = attempt < runs && !this.canceled;
      this.emit({ type: "task.failed", run_id: this.runId, outcome, will_retry: willRetry, policy });
      if (!willRetry) break;
    }
    return outcome!;
  }

  /** report.md and report.json in the run folder, and the --report file if asked for. */
  private writeReports(summary: TaskListSummary): TaskListSummary {
    const dir = runDir(this.home, this.runId);
    const withPaths: TaskListSummary = { ...summary, report_path: join(dir, "report.md"), json_report_path: join(dir, "report.json") };
    try {
      writeFileSync(withPaths.report_path!, markdownReport(withPaths));
      writeFileSync(withPaths.json_report_path!, `${JSON.stringify(withPaths, null, 2)}\n`);
    } catch (err) {
      this.logger.error({ err: (err as Error).message, dir }, "cannot write the run's reports");
    }
    if (this.options.report) {
      const target = resolve(this.options.report);
      try {
        writeFileSync(target, target.endsWith(".json") ? `${JSON.stringify(withPaths, null, 2)}\n` : markdownReport(withPaths));
      } catch (err) {
        this.logger.error({ err: (err as Error).message, path: target }, "cannot write the report");
      }
    }
    return withPaths;
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
 * everything else runs again, in order. Refuses a run that is still running or already completed.
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
    cwd: state.cwd,
    ...options,
    home,
  };
  return new TaskListRun(state.list, opts, state);
}
