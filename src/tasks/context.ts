import { TaskListError, type TaskList, type TaskOutcome, type TaskSpec } from "./model.js";

/** Default size of the "results of earlier tasks" section, in characters (~4k tokens). */
export const DEFAULT_CONTEXT_CHARS = 16_000;
/** The most recent tasks keep their full entry when the section is compacted. */
const FULL_RECENT = 3;
const OUTPUT_TAIL_CHARS = 1500;

const REFERENCE = /\{\{\s*tasks\.([\w.-]+?)\.(summary|result|files|output|exit_code|status)\s*\}\}/g;

function list(files: string[]): string {
  return files.length ? files.join(", ") : "none";
}

function tail(text: string, max: number): string {
  return text.length > max ? `…${text.slice(-max)}` : text;
}

function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** One task's full entry in the context section. */
function fullEntry(o: TaskOutcome): string {
  const head = `### Task ${o.index}: ${o.title} (${o.status})`;
  if (o.method === "direct") {
    const out = o.result.trim() ? `\nOutput (last part):\n\`\`\`\n${tail(o.result.trim(), OUTPUT_TAIL_CHARS)}\n\`\`\`` : "\nOutput: (none)";
    return `${head}\nDirect command, exit code ${o.exit_code ?? "none"}${o.signal ? ` (signal ${o.signal})` : ""}.${out}`;
  }
  const lines = [head, `Summary: ${o.summary || clip(o.result, 600) || "(no answer)"}`, `Files created: ${list(o.files_created)}`, `Files modified: ${list(o.files_modified)}`];
  if (o.status !== "completed" && o.message) lines.push(`Error: ${o.message}`);
  return lines.join("\n");
}

/** One line per task, for older tasks when the section would get too long. */
function compactEntry(o: TaskOutcome): string {
  const what = o.method === "direct" ? `exit ${o.exit_code ?? "none"}` : clip(o.summary || o.result, 160);
  const files = [...o.files_created, ...o.files_modified];
  return `- Task ${o.index}: ${o.title} (${o.status}) — ${what}${files.length ? ` [files: ${clip(files.join(", "), 120)}]` : ""}`;
}

/**
 * The "results of earlier tasks" section for a claude task's prompt. Bounded by `maxChars`: the
 * last few tasks keep full entries, older ones shrink to one line each, and if that is still too
 * long the oldest are dropped with a note saying where the full results are.
 */
export function buildContextSection(earlier: readonly TaskOutcome[], options: { maxChars?: number; resultsPath?: string } = {}): string {
  if (earlier.length === 0) return "";
  const max = options.maxChars ?? DEFAULT_CONTEXT_CHARS;
  const header =
    "## Results of earlier tasks\n" +
    "These tasks of the same task list ran before this one, in this order, each in its own session. " +
    "Use what they produced; do not redo their work.\n";
  const section = (body: string) => `${header}\n${body}\n`;
  const fits = (body: string) => section(body).length <= max;
  const full = earlier.map(fullEntry);
  let body = full.join("\n\n");
  if (fits(body)) return section(body);

  const recent = full.slice(-FULL_RECENT);
  const older = earlier.slice(0, -FULL_RECENT).map(compactEntry);
  const where = options.resultsPath ? ` (all results: ${options.resultsPath})` : "";
  for (let dropped = 0; dropped <= older.length; dropped++) {
    const kept = older.slice(dropped);
    const note = dropped ? `- (${dropped} earlier task${dropped === 1 ? "" : "s"} omitted${where})\n` : "";
    body = `${note}${kept.join("\n")}${kept.length ? "\n\n" : ""}${recent.join("\n\n")}`;
    if (fits(body)) return section(body);
  }
  // Even the recent entries alone are too long: keep their ends (the latest task last).
  return section(tail(body, max - header.length - 3));
}

function referenceValue(o: TaskOutcome, field: string): string {
  switch (field) {
    case "summary":
      return o.summary || clip(o.result, 600);
    case "result":
    case "output":
      return o.result;
    case "files":
      return [...o.files_created, ...o.files_modified].join(", ");
    case "exit_code":
      return String(o.exit_code ?? "");
    case "status":
      return o.status;
  }
  return "";
}

/** Fills `{{tasks.N.summary}}`, `{{tasks.<id>.result}}`, `.files`, `.output`, `.exit_code`, `.status`. */
export function fillReferences(text: string, earlier: readonly TaskOutcome[]): string {
  const byKey = (key: string) => earlier.find((o) => o.id === key || String(o.index) === key);
  return text.replace(REFERENCE, (whole, key: string, field: string) => {
    const o = byKey(key);
    return o ? referenceValue(o, field) : whole;
  });
}

/** A reference to a task that does not exist or does not run before the referring one is an error in the list. */
export function checkReferences(list: TaskList): void {
  for (const task of list.tasks) {
    const text = task.prompt ?? "";
    for (const m of text.matchAll(REFERENCE)) {
      const key = m[1]!;
      const target = list.tasks.find((t) => t.id === key || String(t.index) === key);
      const where = { source: list.source, path: `tasks[${task.index - 1}]` };
      if (!target) throw new TaskListError(`${m[0]} refers to no task (use a task number or id)`, where);
      const sameGroup = task.parallelGroup !== undefined && target.parallelGroup === task.parallelGroup;
      if (target.index >= task.index || sameGroup) throw new TaskListError(`${m[0]} refers to a task that does not finish before task ${task.index} starts`, where);
    }
  }
}

/** The prompt a claude task runs with: earlier results, then the task with its references filled in. */
export function composePrompt(task: TaskSpec, total: number, earlier: readonly TaskOutcome[], options: { maxChars?: number; resultsPath?: string; listName?: string } = {}): string {
  const prompt = fillReferences(task.prompt ?? "", earlier);
  const context = buildContextSection(earlier, options);
  if (!context) return prompt;
  const name = options.listName ? ` of "${options.listName}"` : "";
  return `${context}\n## Your task (task ${task.index} of ${total}${name}: ${task.title})\n\n${prompt}`;
}
