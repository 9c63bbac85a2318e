import { basename } from "node:path";
import {
  parseConflictPolicy,
  parseCost,
  parseDuration,
  parseFailurePolicy,
  parseIsolation,
  parseTokenCount,
  parseToolList,
  TaskListError,
  validateTaskList,
  type GroupSettings,
  type TaskList,
  type TaskMethod,
  type TaskSpec,
} from "./model.js";

const TASK_HEADING = /^###\s+Task\s+([\w.-]+)\s*[:.-]\s*(.*?)\s*$/i;
const LIST_HEADING = /^#\s+(?:Task\s+List\s*:\s*)?(.+?)\s*$/i;
const PHASE_HEADING = /^##\s+(.*?)\s*$/;
/** "## Phase Build: parallel", "## Phase 2 (parallel)", "## Parallel: reviews" */
const PARALLEL = [/^Phase\s+(.+?)\s*[:(-]\s*parallel\)?$/i, /^Parallel\s*[:-]\s*(.+)$/i];
const META = /^(Timeout|Method|Tools|Model|On[- ]?Failure|JSON|Id|Max[- ]?Cost|Max[- ]?Tokens|Resume[- ]?Session)\s*:\s*(.*?)\s*$/i;
/** Lines right after the list heading (the whole list) or a parallel phase heading (that group). */
const LIST_META = /^(Isolation|On[- ]?Conflict|Max[- ]?Cost|Max[- ]?Tokens)\s*:\s*(.*?)\s*$/i;
const GROUP_META = /^(Isolation|On[- ]?Conflict)\s*:\s*(.*?)\s*$/i;

interface RawTask {
  number: string;
  title: string;
  line: number;
  group?: string;
  body: string[];
}

/**
 * Markdown task lists: an optional `# Task List: <name>` heading, then `### Task N: <title>`
 * sections whose body is the prompt. Metadata lines (`Timeout:`, `Method:`, `Tools:`, `Model:`,
 * `On-Failure:`, `JSON:`, `Id:`) are read from the top of a section, before its first other line.
 * A `## Phase <name>: parallel` (or `## Parallel: <name>`) heading puts the following tasks, up to
 * the next `##` heading, in one parallel group. `Isolation:`, `On-Conflict:`, `Max-Cost:` and
 * `Max-Tokens:` lines right after the list heading set them for the whole list; `Isolation:` and
 * `On-Conflict:` lines right after a parallel heading set them for that group.
 */
export function parseMarkdownTaskList(text: string, source?: string): TaskList {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let name: string | undefined;
  const description: string[] = [];
  const raws: RawTask[] = [];
  const listMeta: Array<{ key: string; value: string; line: number }> = [];
  const groups: Record<string, GroupSettings> = {};
  let group: string | undefined;
  let inFence = false;
  /** Where setting lines are read now: right after the list or a parallel heading, up to the first other line. */
  let metaFor: "list" | "group" | undefined = "list";
  lines.forEach((line, i) => {
    const fence = /^\s*(```|~~~)/.test(line);
    const current = raws.at(-1);
    if (!inFence && metaFor) {
      const m = (metaFor === "list" ? LIST_META : GROUP_META).exec(line.trim());
      if (m) {
        const key = m[1]!.toLowerCase().replace(/[- ]/g, "");
        if (metaFor === "list") listMeta.push({ key, value: m[2]!, line: i + 1 });
        else applyGroupMeta((groups[group!] ??= {}), key, m[2]!, { source, line: i + 1 });
        return;
      }
      if (line.trim() !== "") metaFor = undefined;
    }
    if (!inFence) {
      const task = TASK_HEADING.exec(line);
      if (task) {
        raws.push({ number: task[1]!, title: task[2] || `Task ${task[1]}`, line: i + 1, group, body: [] });
        metaFor = undefined;
        return;
      }
      const phase = /^##\s/.test(line) && !/^###/.test(line) ? PHASE_HEADING.exec(line) : null;
      if (phase) {
        const heading = phase[1]!;
        group = undefined;
        for (const re of PARALLEL) {
          const m = re.exec(heading);
          if (m) group = m[1]!.trim();
        }
        metaFor = group !== undefined ? "group" : undefined;
        return;
      }
      const list = /^#\s/.test(line) && raws.length === 0 && name === undefined ? LIST_HEADING.exec(line) : null;
      if (list) {
        name = list[1]!;
        metaFor = "list";
        return;
      }
    }
    if (fence) inFence = !inFence;
    if (current) current.body.push(line);
    else description.push(line);
  });
  if (inFence) throw new TaskListError("a code fence (```) is opened and never closed", { source, line: lines.length });

  const defaults = {};
  const tasks = raws.map((raw, i) => toTask(raw, i + 1, source));
  const list: TaskList = {
    name: name ?? (source ? basename(source).replace(/\.(md|markdown)$/i, "") : "task list"),
    description: description.join("\n").trim() || undefined,
    source,
    defaults,
    onFailure: { action: "stop" },
    tasks,
  };
  for (const meta of listMeta) applyListMeta(list, meta.key, meta.value, { source, line: meta.line });
  if (Object.keys(groups).length) list.groups = groups;
  const lineById = new Map(tasks.map((t, i) => [t.id, raws[i]!.line]));
  return validateTaskList(list, (t) => lineById.get(t.id));
}

function toTask(raw: RawTask, index: number, source?: string): TaskSpec {
  const task: TaskSpec = { id: `task-${index}`, index, title: raw.title, method: "claude" };
  if (raw.group !== undefined) task.parallelGroup = raw.group;
  let bodyStart = 0;
  for (; bodyStart < raw.body.length; bodyStart++) {
    const line = raw.body[bodyStart]!;
    if (line.trim() === "") continue;
    const m = META.exec(line.trim());
    if (!m) break;
    applyMeta(task, m[1]!.toLowerCase().replace(/[- ]/g, ""), m[2]!, { source, line: raw.line + bodyStart + 1 });
  }
  const body = raw.body.slice(bodyStart).join("\n").trim();
  if (task.method === "direct") {
    const fence = /```[\w-]*\n([\s\S]*?)```/.exec(body);
    task.command = (fence ? fence[1]! : body).trim();
  } else task.prompt = body;
  return task;
}

function applyMeta(task: TaskSpec, key: string, value: string, where: { source?: string; line: number }): void {
  const bad = (what: string) => new TaskListError(`${what}, got "${value}"`, where);
  switch (key) {
    case "timeout": {
      const s = parseDuration(value);
      if (s === undefined) throw bad("Timeout must be a positive number of seconds (or 90s, 5m, 1h)");
      task.timeout = s;
      break;
    }
    case "method": {
      const m = value.toLowerCase();
      if (m !== "claude" && m !== "direct") throw bad("Method must be claude or direct");
      task.method = m as TaskMethod;
      break;
    }
    case "tools":
      task.tools = parseToolList(value);
      break;
    case "model":
      task.model = value;
      break;
    case "onfailure": {
      const p = parseFailurePolicy(value);
      if (!p) throw bad("On-Failure must be stop, continue or retry N");
      task.onFailure = p;
      break;
    }
    case "json":
      if (!/^(true|false|yes|no)$/i.test(value)) throw bad("JSON must be true or false");
      task.json = /^(true|yes)$/i.test(value);
      break;
    case "id":
      if (!/^[\w.-]+$/.test(value)) throw bad("Id may only contain letters, digits, _ . -");
      task.id = value;
      break;
    case "maxcost":
      task.maxCostUsd = costOf(value, where);
      break;
    case "maxtokens":
      task.maxTokens = tokensOf(value, where);
      break;
    case "resumesession":
      if (!/^(true|false|yes|no)$/i.test(value)) throw bad("Resume-Session must be true or false");
      task.resumeSession = /^(true|yes)$/i.test(value);
      break;
  }
}

function costOf(value: string, where: { source?: string; line: number }): number {
  const n = parseCost(value);
  if (n === undefined) throw new TaskListError(`Max-Cost must be a positive amount of US dollars (e.g. 2.50), got "${value}"`, where);
  return n;
}

function tokensOf(value: string, where: { source?: string; line: number }): number {
  const n = parseTokenCount(value);
  if (n === undefined) throw new TaskListError(`Max-Tokens must be a positive number of tokens (e.g. 200000 or 200k), got "${value}"`, where);
  return n;
}

function applyGroupMeta(settings: GroupSettings, key: string, value: string, where: { source?: string; line: number }): void {
  if (key === "isolation") {
    const v = parseIsolation(value);
    if (!v) throw new TaskListError(`Isolation must be worktree or none, got "${value}"`, where);
    settings.isolation = v;
  } else {
    const v = parseConflictPolicy(value);
    if (!v) throw new TaskListError(`On-Conflict must be fail or claude, got "${value}"`, where);
    settings.onConflict = v;
  }
}

function applyListMeta(list: TaskList, key: string, value: string, where: { source?: string; line: number }): void {
  if (key === "maxcost") list.budget = { ...list.budget, maxCostUsd: costOf(value, where) };
  else if (key === "maxtokens") list.budget = { ...list.budget, maxTokens: tokensOf(value, where) };
  else {
    const settings: GroupSettings = {};
    applyGroupMeta(settings, key, value, where);
    if (settings.isolation) list.isolation = settings.isolation;
    if (settings.onConflict) list.onConflict = settings.onConflict;
  }
}
