import { readFileSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import { TaskListError, type TaskList } from "./model.js";
import { parseMarkdownTaskList } from "./parse-markdown.js";
import { parseJsonTaskList, parseYamlTaskList, taskListFromObject } from "./parse-structured.js";

export type TaskListFormat = "markdown" | "yaml" | "json";

/** Largest task-list file read (a task list is prose, not data). */
const MAX_FILE_BYTES = 10 * 1024 * 1024;

export function formatFromPath(path: string): TaskListFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === ".md" || ext === ".markdown") return "markdown";
  if (ext === ".yaml" || ext === ".yml") return "yaml";
  if (ext === ".json") return "json";
  return undefined;
}

/** Guesses the format of text without a file name: JSON if it starts with { or [, markdown if it has task headings, else YAML. */
export function sniffFormat(text: string): TaskListFormat {
  const start = text.trimStart()[0];
  if (start === "{" || start === "[") return "json";
  if (/^###\s+Task\b/im.test(text)) return "markdown";
  return "yaml";
}

export function parseTaskListText(text: string, options: { format?: TaskListFormat; source?: string } = {}): TaskList {
  const format = options.format ?? (options.source ? formatFromPath(options.source) : undefined) ?? sniffFormat(text);
  switch (format) {
    case "markdown":
      return parseMarkdownTaskList(text, options.source);
    case "yaml":
      return parseYamlTaskList(text, options.source);
    case "json":
      return parseJsonTaskList(text, options.source);
  }
}

/** Reads and parses a task-list file; every failure is a TaskListError that names the file. */
export function loadTaskListFile(path: string, format?: TaskListFormat): TaskList {
  const absolute = resolve(path);
  let text: string;
  try {
    const st = statSync(absolute);
    if (st.isDirectory()) throw new TaskListError("is a directory, not a task-list file", { source: path });
    if (st.size > MAX_FILE_BYTES) throw new TaskListError(`is ${st.size} bytes; task lists are limited to ${MAX_FILE_BYTES}`, { source: path });
    text = readFileSync(absolute, "utf8");
  } catch (err) {
    if (err instanceof TaskListError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" || code === "EPERM" ? "permission denied (cannot read it)" : (err as Error).message;
    throw new TaskListError(why, { source: path });
  }
  const list = parseTaskListText(text, { format: format ?? formatFromPath(path), source: path });
  list.source = absolute;
  return list;
}

/** What callers may hand to the runner: a file path, a parsed list, a list of prompts, a `{tasks}` object, or `{file}`. */
export type TaskListSource = string | TaskList | Array<string | Record<string, unknown>> | { tasks: unknown[]; [k: string]: unknown } | { file: string };

function isTaskList(value: unknown): value is TaskList {
  return typeof value === "object" && value !== null && Array.isArray((value as TaskList).tasks) && typeof (value as TaskList).onFailure === "object";
}

export function resolveTaskList(input: TaskListSource): TaskList {
  if (typeof input === "string") return loadTaskListFile(input);
  if (Array.isArray(input)) return taskListFromObject(input);
  if ("file" in input && typeof input.file === "string") return loadTaskListFile(input.file);
  if (isTaskList(input)) return input;
  return taskListFromObject(input);
}

/** A task list as a request names it (protocol `run_task_list`, the MCP tool): one of file, text or tasks. */
export interface TaskListRequestFields {
  file?: string | null;
  text?: string | null;
  format?: TaskListFormat | null;
  /** With `text`: where it came from, for messages and the report. */
  source?: string | null;
  tasks?: unknown[] | null;
  name?: string | null;
  defaults?: Record<string, unknown> | null;
  on_failure?: unknown;
}

/** The list a request names; a relative `file` is taken from `baseDir` when given. Errors are TaskListErrors. */
export function taskListFromRequest(r: TaskListRequestFields, baseDir?: string): TaskList {
  if (r.text != null) return parseTaskListText(r.text, { format: r.format ?? undefined, source: r.source ?? undefined });
  if (r.file != null) return loadTaskListFile(baseDir ? resolve(baseDir, r.file) : r.file, r.format ?? undefined);
  const object: Record<string, unknown> = { tasks: r.tasks };
  if (r.name) object.name = r.name;
  if (r.defaults) object.defaults = r.defaults;
  if (r.on_failure != null) object.on_failure = r.on_failure;
  return taskListFromObject(object);
}
