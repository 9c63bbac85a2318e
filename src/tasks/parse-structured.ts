import { basename } from "node:path";
import type { Document, Node as YamlNode } from "yaml";
import { lazyRequire } from "../lazy-require.js";
import * as z from "zod";
import { parseCost, parseDuration, parseFailurePolicy, parseTokenCount, parseToolList, TaskListError, validateTaskList, type TaskList, type TaskSpec } from "./model.js";

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const s = parseDuration(v);
  if (s === undefined) ctx.addIssue({ code: "custom", message: `must be a positive number of seconds (or "90s", "5m", "1h"), got ${JSON.stringify(v)}` });
  return s as number;
});
const tools = z.union([z.array(z.string()), z.string()]).transform((v) => parseToolList(v)!);
const failurePolicy = z.union([z.string(), z.object({ retry: z.number() })]).transform((v, ctx) => {
  const p = parseFailurePolicy(v);
  if (!p) ctx.addIssue({ code: "custom", message: `must be "stop", "continue", "retry N" or {retry: N} (N from 1 to 20), got ${JSON.stringify(v)}` });
  return p!;
});
const method = z.enum(["claude", "direct"]);
const cost = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = parseCost(v);
  if (n === undefined) ctx.addIssue({ code: "custom", message: `must be a positive amount of US dollars (e.g. 2.5 or "$2.50"), got ${JSON.stringify(v)}` });
  return n as number;
});
const tokenCount = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = parseTokenCount(v);
  if (n === undefined) ctx.addIssue({ code: "custom", message: `must be a positive number of tokens (e.g. 200000, "200k", "1.5M"), got ${JSON.stringify(v)}` });
  return n as number;
});
const isolation = z.enum(["worktree", "none"]);
const onConflict = z.enum(["fail", "claude"]);
const id = z.union([z.string(), z.number()]).transform(String).pipe(z.string().regex(/^[\w.-]+$/, "may only contain letters, digits, _ . -"));

const TaskInput = z
  .object({
    id: id.optional(),
    title: z.string().optional(),
    name: z.string().optional(),
    prompt: z.string().optional(),
    command: z.string().optional(),
    method: method.optional(),
    timeout: duration.optional(),
    tools: tools.optional(),
    model: z.string().optional(),
    parallel_group: z.union([z.string(), z.number()]).transform(String).optional(),
    on_failure: failurePolicy.optional(),
    json: z.boolean().optional(),
    max_cost: cost.optional(),
    max_tokens: tokenCount.optional(),
    resume_session: z.boolean().optional(),
  })
  .strict();

const TaskListInput = z
  .object({
    name: z.string().optional(),
    description: z.string().optional(),
    defaults: z
      .object({
        timeout: duration.optional(),
        tools: tools.optional(),
        model: z.string().optional(),
        method: method.optional(),
        json: z.boolean().optional(),
        on_failure: failurePolicy.optional(),
        max_cost: cost.optional(),
        max_tokens: tokenCount.optional(),
        resume_session: z.boolean().optional(),
      })
      .strict()
      .optional(),
    on_failure: failurePolicy.optional(),
    isolation: isolation.optional(),
    on_conflict: onConflict.optional(),
    groups: z.record(z.string(), z.object({ isolation: isolation.optional(), on_conflict: onConflict.optional() }).strict()).optional(),
    max_cost: cost.optional(),
    max_tokens: tokenCount.optional(),
    // A bare string is a claude task with that prompt; preprocessing keeps field-level errors precise.
    tasks: z.array(z.preprocess((v) => (typeof v === "string" ? { prompt: v } : v), TaskInput)).min(1, "must list at least one task"),
  })
  .strict();
export type TaskListInput = z.input<typeof TaskListInput>;

/** A list of strings, or the `{name, defaults, tasks}` object, validated into a TaskList. */
export function taskListFromObject(value: unknown, source?: string, lineAt?: (path: PropertyKey[]) => number | undefined): TaskList {
  const input = Array.isArray(value) ? { tasks: value } : value;
  const parsed = TaskListInput.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TaskListError(issue.message, { source, line: lineAt?.(issue.path), path: issue.path.join(".") || "(top level)" });
  }
  const data = parsed.data;
  const defaults = data.defaults ?? {};
  const tasks: TaskSpec[] = data.tasks.map((t, i) => {
    const method = t.method ?? defaults.method ?? (t.command !== undefined && t.prompt === undefined ? "direct" : "claude");
    const where = { source, line: lineAt?.(["tasks", i]), path: `tasks.${i}` };
    if (t.prompt !== undefined && t.command !== undefined) throw new TaskListError('give either "prompt" (claude task) or "command" (direct task), not both', where);
    if (method === "direct" && t.command === undefined) throw new TaskListError('a direct task needs "command"', where);
    if (method === "claude" && t.prompt === undefined) throw new TaskListError('a claude task needs "prompt"', where);
    const text = (t.prompt ?? t.command ?? "").trim();
    const task: TaskSpec = {
      id: t.id ?? `task-${i + 1}`,
      index: i + 1,
      title: t.title ?? t.name ?? firstLine(text),
      method,
    };
    if (method === "direct") task.command = text;
    else task.prompt = text;
    assign(task, "timeout", t.timeout);
    assign(task, "tools", t.tools);
    assign(task, "model", t.model);
    assign(task, "parallelGroup", t.parallel_group);
    assign(task, "onFailure", t.on_failure);
    assign(task, "json", t.json);
    assign(task, "maxCostUsd", t.max_cost);
    assign(task, "maxTokens", t.max_tokens);
    assign(task, "resumeSession", t.resume_session);
    return task;
  });
  const list: TaskList = {
    name: data.name ?? (source ? basename(source).replace(/\.(ya?ml|json)$/i, "") : "task list"),
    description: data.description,
    source,
    defaults: dropUndefined({
      timeout: defaults.timeout,
      tools: defaults.tools,
      model: defaults.model,
      method: defaults.method,
      json: defaults.json,
      maxCostUsd: defaults.max_cost,
      maxTokens: defaults.max_tokens,
      resumeSession: defaults.resume_session,
    }),
    onFailure: data.on_failure ?? defaults.on_failure ?? { action: "stop" },
    tasks,
  };
  if (data.isolation) list.isolation = data.isolation;
  if (data.on_conflict) list.onConflict = data.on_conflict;
  if (data.groups) list.groups = Object.fromEntries(Object.entries(data.groups).map(([name, g]) => [name, dropUndefined({ isolation: g.isolation, onConflict: g.on_conflict })]));
  if (data.max_cost !== undefined || data.max_tokens !== undefined) list.budget = dropUndefined({ maxCostUsd: data.max_cost, maxTokens: data.max_tokens });
  return validateTaskList(list, (t) => lineAt?.(["tasks", t.index - 1]));
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function assign<K extends keyof TaskSpec>(task: TaskSpec, key: K, value: TaskSpec[K] | undefined): void {
  if (value !== undefined) task[key] = value;
}

function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
  return line.length > 80 ? `${line.slice(0, 77)}…` : line;
}

/** The YAML parser, loaded with the first YAML (or broken JSON) list rather than at start-up. */
const yaml = () => lazyRequire("yaml") as typeof import("yaml");

/** YAML, with errors pointing at the line of the bad field. */
export function parseYamlTaskList(text: string, source?: string): TaskList {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) throw new TaskListError(`invalid YAML: ${syntax.message.split("\n")[0]}`, { source, line: lineCounter.linePos(syntax.pos[0]).line });
  const lineAt = (path: PropertyKey[]) => {
    const node = nearestNode(doc, path);
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // e.g. an alias without its anchor, or an alias bomb
    throw new TaskListError(`invalid YAML: ${(err as Error).message}`, { source });
  }
  return taskListFromObject(value, source, lineAt);
}

/** The deepest node along `path` that exists (a missing field points at its parent). */
function nearestNode(doc: Document, path: PropertyKey[]): YamlNode | undefined {
  const { isMap, isSeq } = yaml();
  let node = doc.contents as YamlNode | null;
  for (const key of path) {
    if (!node) break;
    let next: unknown;
    if (isMap(node)) next = node.get(key as string, true);
    else if (isSeq(node)) next = node.get(Number(key), true);
    if (!next || typeof next !== "object") break;
    node = next as YamlNode;
  }
  return node ?? undefined;
}

/** Node 20's JSON.parse names a position for some errors only; the YAML parser (JSON is YAML) locates the rest. */
function jsonErrorLine(text: string, message: string): number | undefined {
  const pos = /position (\d+)/.exec(message);
  if (pos) return text.slice(0, Number(pos[1])).split("\n").length;
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const yamlError = parseDocument(text, { lineCounter }).errors[0];
  return yamlError ? lineCounter.linePos(yamlError.pos[0]).line : undefined;
}

/** JSON, with the line of a syntax error when the engine reports a position. */
export function parseJsonTaskList(text: string, source?: string): TaskList {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TaskListError(`invalid JSON: ${(err as Error).message.split("\n")[0]}`, { source, line: jsonErrorLine(text, (err as Error).message) });
  }
  // JSON is valid YAML: reparse for line numbers only when there is a schema error to report.
  try {
    return taskListFromObject(value, source);
  } catch (err) {
    if (err instanceof TaskListError && err.where.line === undefined) {
      try {
        parseYamlTaskList(text, source);
      } catch (located) {
        if (located instanceof TaskListError) throw located;
      }
    }
    throw err;
  }
}
