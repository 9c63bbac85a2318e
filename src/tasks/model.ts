export type TaskMethod = "claude" | "direct";
export type FailurePolicy = { action: "stop" } | { action: "continue" } | { action: "retry"; times: number };
/** Where the claude tasks of a parallel group work: each in its own git worktree and branch, or all in the one tree. */
export type Isolation = "worktree" | "none";
/** What a merge conflict after a parallel group does: fail that merge step, or hand it to a fresh claude. */
export type ConflictPolicy = "fail" | "claude";

/** Spending limits: US dollars as the CLI reports them, tokens as input + output + cache reads and writes. */
export interface Budget {
  maxCostUsd?: number;
  maxTokens?: number;
}

/** Settings of one parallel group (by its name). */
export interface GroupSettings {
  isolation?: Isolation;
  onConflict?: ConflictPolicy;
}

export interface TaskSpec {
  /** Unique in the list; "task-N" when not given. */
  id: string;
  /** 1-based position in the list. */
  index: number;
  title: string;
  method: TaskMethod;
  /** claude tasks: the prompt. */
  prompt?: string;
  /** direct tasks: the shell command. */
  command?: string;
  /** Seconds; absent: the list default, else estimated/default. */
  timeout?: number;
  tools?: string[];
  model?: string;
  /** Tasks next to each other with the same group run at the same time. */
  parallelGroup?: string;
  onFailure?: FailurePolicy;
  /** claude tasks: JSON mode. */
  json?: boolean;
  /** claude tasks: the most this task may spend, over all its attempts. */
  maxCostUsd?: number;
  maxTokens?: number;
  /** claude tasks: a retry after real work continues the Claude session (default true). */
  resumeSession?: boolean;
}

export interface TaskList {
  name: string;
  description?: string;
  source?: string;
  defaults: { timeout?: number; tools?: string[]; model?: string; method?: TaskMethod; json?: boolean; maxCostUsd?: number; maxTokens?: number; resumeSession?: boolean };
  onFailure: FailurePolicy;
  /** Parallel groups' isolation (default: worktree in a git repository). */
  isolation?: Isolation;
  /** Merge conflicts after a parallel group (default: fail). */
  onConflict?: ConflictPolicy;
  /** Per-group settings, by group name; they win over the list's. */
  groups?: Record<string, GroupSettings>;
  /** The whole list's budget. */
  budget?: Budget;
  tasks: TaskSpec[];
}

export type Phase = { kind: "sequential"; task: TaskSpec } | { kind: "parallel"; group: string; tasks: TaskSpec[] };

/** A problem in a task list, with where it is: line (1-based) and/or field path. */
export class TaskListError extends Error {
  constructor(
    readonly detail: string,
    readonly where: { source?: string; line?: number; path?: string } = {},
  ) {
    const at = [where.source, where.line].filter((x) => x !== undefined).join(":");
    super(`${at ? `${at}: ` : ""}${where.path ? `${where.path}: ` : ""}${detail}`);
    this.name = "TaskListError";
  }
}

/** "stop" | "continue" | "retry 2" | "retry:2" | {retry: 2} */
export function parseFailurePolicy(value: unknown): FailurePolicy | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "object" && value !== null && "retry" in value) {
    const times = Number((value as { retry: unknown }).retry);
    if (Number.isInteger(times) && times >= 1 && times <= 20) return { action: "retry", times };
    return undefined;
  }
  if (typeof value !== "string") return undefined;
  const v = value.trim().toLowerCase();
  if (v === "stop") return { action: "stop" };
  if (v === "continue") return { action: "continue" };
  const m = /^retry(?:\s*[: ]\s*(\d+))?$/.exec(v);
  if (m) {
    const times = m[1] ? Number(m[1]) : 1;
    if (times >= 1 && times <= 20) return { action: "retry", times };
  }
  return undefined;
}

export function parseIsolation(value: unknown): Isolation | undefined {
  const v = typeof value === "string" ? value.trim().toLowerCase() : undefined;
  return v === "worktree" || v === "none" ? v : undefined;
}

export function parseConflictPolicy(value: unknown): ConflictPolicy | undefined {
  const v = typeof value === "string" ? value.trim().toLowerCase() : undefined;
  return v === "fail" || v === "claude" ? v : undefined;
}

/** 2, "2", "2.50", "$2.50" -> US dollars (positive). */
export function parseCost(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\s*\$?\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value.replace(/[$\s]/g, "")) : NaN;
  return Number.isFinite(n) && n > 0 && n <= 1_000_000 ? n : undefined;
}

/** 200000, "200000", "200k", "1.5M", "200_000" -> tokens (a positive integer). */
export function parseTokenCount(value: unknown): number | undefined {
  let n = NaN;
  if (typeof value === "number") n = value;
  else if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(value.replace(/[_,]/g, ""));
    if (m) n = Number(m[1]) * (m[2]!.toLowerCase() === "k" ? 1e3 : m[2]!.toLowerCase() === "m" ? 1e6 : 1);
  }
  return Number.isFinite(n) && n >= 1 && n <= 1e12 ? Math.round(n) : undefined;
}

/** "300", "300s", "5m", "1h", "1h30m" -> seconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const v = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) > 0 ? Number(v) : undefined;
  const m = /^(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$/.exec(v);
  if (!m || (!m[1] && !m[2] && !m[3])) return undefined;
  const s = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return s > 0 ? s : undefined;
}

export function parseToolList(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String).map((s) => s.trim()).filter(Boolean);
  if (typeof value === "string") return value.split(",").map((s) => s.trim()).filter(Boolean);
  return undefined;
}

/** Checks what no single task can check alone: unique ids, contiguous parallel groups, content per method. */
export function validateTaskList(list: TaskList, lineOf: (task: TaskSpec) => number | undefined = () => undefined): TaskList {
  if (list.tasks.length === 0) {
    throw new TaskListError('no tasks found (markdown: "### Task 1: <title>" sections; YAML/JSON: a "tasks" array)', { source: list.source });
  }
  const seen = new Map<string, TaskSpec>();
  const closedGroups = new Set<string>();
  let currentGroup: string | undefined;
  for (const task of list.tasks) {
    const where = { source: list.source, line: lineOf(task), path: `tasks[${task.index - 1}]` };
    if (seen.has(task.id)) throw new TaskListError(`duplicate task id "${task.id}" (also task ${seen.get(task.id)!.index})`, where);
    seen.set(task.id, task);
    if (task.method === "claude" && !task.prompt?.trim()) throw new TaskListError(`task "${task.title}" has no prompt`, where);
    if (task.method === "direct" && !task.command?.trim()) throw new TaskListError(`direct task "${task.title}" has no command`, where);
    if (task.parallelGroup !== currentGroup) {
      if (currentGroup !== undefined) closedGroups.add(currentGroup);
      if (task.parallelGroup !== undefined && closedGroups.has(task.parallelGroup)) {
        throw new TaskListError(`parallel group "${task.parallelGroup}" is split: task "${task.title}" is not next to the other tasks of its group`, where);
      }
      currentGroup = task.parallelGroup;
    }
  }
  for (const group of Object.keys(list.groups ?? {})) {
    if (!list.tasks.some((t) => t.parallelGroup === group)) {
      throw new TaskListError(`settings for parallel group "${group}", but no task is in that group`, { source: list.source, path: `groups.${group}` });
    }
  }
  return list;
}

/** The isolation and conflict policy of one parallel group: its own settings, else the list's. */
export function groupSettings(list: TaskList, group: string): { isolation?: Isolation; onConflict: ConflictPolicy } {
  const own = list.groups?.[group] ?? {};
  return { isolation: own.isolation ?? list.isolation, onConflict: own.onConflict ?? list.onConflict ?? "fail" };
}

/** Consecutive tasks of one parallel group form one phase; every other task is a phase of its own. */
export function planPhases(list: TaskList): Phase[] {
  const phases: Phase[] = [];
  for (const task of list.tasks) {
    const last = phases.at(-1);
    if (task.parallelGroup === undefined) phases.push({ kind: "sequential", task });
    else if (last?.kind === "parallel" && last.group === task.parallelGroup) last.tasks.push(task);
    else phases.push({ kind: "parallel", group: task.parallelGroup, tasks: [task] });
  }
  return phases;
}

export type TaskStatus = "pending" | "running" | "completed" | "failed" | "timeout" | "canceled" | "skipped";

/** What one task produced: the same object in local and distributed mode, kept in the checkpoint. */
export interface TaskOutcome {
  id: string;
  index: number;
  title: string;
  method: TaskMethod;
  status: Exclude<TaskStatus, "pending" | "running">;
  /** Runs of this task in all (failure-policy retries included). */
  attempts: number;
  started_at: string;
  ended_at: string;
  duration_ms: number;
  timeout_s: number;
  /** claude: the final answer; direct: the output tail. */
  result: string;
  summary: string;
  files_created: string[];
  files_modified: string[];
  execution_id: string;
  // claude tasks
  uuid_verified?: boolean;
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  cost_usd?: number;
  num_turns?: number;
  session_id?: string | null;
  transcript_path?: string;
  /** claude tasks: attempts that continued a Claude session, or could not (and started afresh). */
  session_resumes?: Array<{ attempt: number; session_id: string; reason: string; resumed: boolean; fallback?: string }>;
  /** claude tasks of an isolated parallel group: the worktree it ran in and its branch. */
  worktree?: string;
  branch?: string;
  // direct tasks
  exit_code?: number | null;
  signal?: string | null;
  error_type?: string;
  message?: string;
}

/**
 * The merge of one isolated task's branch back into the main tree, a step of its own after its
 * parallel group: `pending` until tried, `merged` (or `empty`: nothing to merge) when done; on
 * `conflict` or `failed` the branch (and worktree) are kept and named; `kept`: the task did not
 * complete, so its branch was not merged.
 */
export type MergeStatus = "pending" | "merged" | "empty" | "conflict" | "failed" | "kept";

export interface MergeStep {
  task_id: string;
  index: number;
  title: string;
  branch: string;
  worktree: string;
  /** The main tree (the repository's top level) and the commit the branch was made from. */
  repo: string;
  base: string;
  /** The main tree's branch the task's branch is merged into (absent: a detached HEAD). */
  into?: string;
  status: MergeStatus;
  /** The merge commit. */
  commit?: string;
  conflicted_files?: string[];
  message?: string;
  worktree_removed?: boolean;
  branch_deleted?: boolean;
  /** The fresh claude that was given the conflict (on_conflict: claude). */
  resolver?: TaskOutcome;
  ended_at?: string;
}

export const mergeDone = (m: Pick<MergeStep, "status">): boolean => m.status === "merged" || m.status === "empty";

export const isSuccess = (o: Pick<TaskOutcome, "status">): boolean => o.status === "completed";

/** Tokens a task used, as budgets count them: input + output + cache reads + cache writes. */
export function tokensOf(o: Pick<TaskOutcome, "input_tokens" | "output_tokens" | "cache_read_input_tokens" | "cache_creation_input_tokens">): number {
  return (o.input_tokens ?? 0) + (o.output_tokens ?? 0) + (o.cache_read_input_tokens ?? 0) + (o.cache_creation_input_tokens ?? 0);
}
