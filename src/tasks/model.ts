export type TaskMethod = "claude" | "direct";
export type FailurePolicy = { action: "stop" } | { action: "continue" } | { action: "retry"; times: number };

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
}

export interface TaskList {
  name: string;
  description?: string;
  source?: string;
  defaults: { timeout?: number; tools?: string[]; model?: string; method?: TaskMethod; json?: boolean };
  onFailure: FailurePolicy;
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
  return list;
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
  cost_usd?: number;
  num_turns?: number;
  session_id?: string | null;
  transcript_path?: string;
  // direct tasks
  exit_code?: number | null;
  signal?: string | null;
  error_type?: string;
  message?: string;
}

export const isSuccess = (o: Pick<TaskOutcome, "status">): boolean => o.status === "completed";
