import type { HookSet } from "../hooks/index.js";
import type { Logger } from "../logger.js";
import type { HistoryRecorder } from "../store/index.js";
import type { BudgetMeter } from "./budget.js";
import type { RunningTask, RunState } from "./checkpoint.js";
import type { TaskListEvent, TimeoutChoice } from "./events.js";
import type { LocalExecutorOptions, TaskExecution, TaskExecutor } from "./executor.js";
import type { Budget, FailurePolicy, Isolation, MergeStep, TaskList, TaskOutcome, TaskSpec } from "./model.js";

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
  /** Isolation of parallel groups' claude tasks (overrides the list's): own git worktrees, or none. */
  isolation?: Isolation;
  /** The whole run's budget (overrides the list's; on resume, the new total). */
  budget?: Budget;
  /** false: a retry or resume starts a claude task afresh instead of continuing its Claude session. */
  resumeSessions?: boolean;
  runId?: string;
  logger?: Logger;
  onEvent?: (event: TaskListEvent) => void;
}

/** What the parts of a run (phases, tasks, merges) share: the run's state and its services. */
export interface RunContext {
  readonly runId: string;
  readonly list: TaskList;
  readonly state: RunState;
  /** checkpoint.json, and journal.jsonl (every task's entry so far: CC_EXECUTOR_STATE_FILE). */
  readonly statePath: string;
  readonly journalPath: string;
  readonly home: string;
  readonly options: TaskListOptions;
  readonly executor: TaskExecutor;
  readonly hooks: HookSet;
  readonly logger: Logger;
  readonly budget: BudgetMeter;
  /** Tasks running now, by task id (cancel, pause and resume reach them). */
  readonly running: Map<string, TaskExecution>;
  readonly canceled: boolean;
  emit(event: TaskListEvent): void;
  /** Sets a task's entry (running, or its outcome) and writes it to the checkpoint's journal. */
  setTask(entry: TaskOutcome | RunningTask): void;
  /** Sets an isolated task's merge step and writes it to the journal. */
  setMerge(step: MergeStep): void;
  /** Adds what a task run (or a merge resolver, keyed `<task>.merge`) spent to the budget and the journal. */
  spend(key: string, outcome: TaskOutcome): void;
  skip(task: TaskSpec, reason: string): void;
}
