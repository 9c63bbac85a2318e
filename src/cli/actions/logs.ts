import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../config.js";
import { findRunFolder, followExecution, readCommandOutput, readExecutionFile, RunFiles, RunFolderNotFoundError, executionEnded, executionDir, type ExecutionFile, type KeptKind, type RunFolderTarget } from "../../runs/index.js";
import { loadRunState, type RunState, type TaskSpec } from "../../tasks/index.js";
import type { LogsFlags } from "../commands/logs.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatDuration, info, printJson, style } from "../output.js";
import { transcriptRenderer } from "../transcript.js";

/** `cc-executor logs`: an execution's or a run's output, snapshot or followed. */
export async function logs(id: string, flags: LogsFlags): Promise<void> {
  if (flags.json && flags.follow) throw new CliError("--json prints a finished snapshot; use --follow without --json", ExitCode.usage);
  const home = loadConfig().home;
  let target: RunFolderTarget;
  try {
    target = findRunFolder(home, id);
  } catch (err) {
    if (err instanceof RunFolderNotFoundError) throw new CliError(err.message, ExitCode.usage);
    throw err;
  }
  if (target.type === "execution") {
    if (flags.task !== undefined) throw new CliError(`--task is for task-list runs; ${target.id} is one execution`, ExitCode.usage);
    if (flags.json) return printJson(executionDocument(target.dir, target.kind));
    await printExecution(target.dir, target.kind, flags, true);
  } else await printRun(home, target.runId, flags);
}

const out = (data: Buffer | string) => void process.stdout.write(data);

/** One execution's output on stdout, snapshot or followed; a status line on stderr when `footer`. */
async function printExecution(dir: string, kind: KeptKind, flags: LogsFlags, footer: boolean): Promise<ExecutionFile | undefined> {
  const readable = kind === "claude" && !flags.raw ? transcriptRenderer() : undefined;
  const write = (data: Buffer) => out(readable ? readable.push(data) : data);
  let meta: ExecutionFile | undefined;
  let writerGone = false;
  if (flags.follow) {
    ({ meta, writerGone = false } = await followExecution(dir, kind, write));
  } else {
    if (kind === "command") {
      const { data, droppedBytes } = readCommandOutput(dir);
      if (droppedBytes > 0 && !flags.quiet) info(style(`[${formatBytes(droppedBytes)} of earlier output not kept]`, "dim"));
      write(data);
    } else write(readOrEmpty(join(dir, RunFiles.transcript)));
    const state = executionEnded(dir);
    meta = state.meta;
    writerGone = Boolean(state.writerGone);
  }
  if (readable) out(readable.end());
  if (footer && !flags.quiet) info(style(statusLine(meta, writerGone, dir), "dim"));
  return meta;
}

function statusLine(meta: ExecutionFile | undefined, writerGone: boolean, dir: string): string {
  if (!meta) {
    const result = readJson(join(dir, RunFiles.result)) as { success?: boolean; error_type?: string } | undefined;
    return result ? `ended: ${result.success ? "completed" : (result.error_type ?? "failed")}` : "no record of how it ended";
  }
  const id = meta.execution_id.slice(0, 8);
  if (!meta.status) return writerGone ? `${id}: ended without a record (the process that ran it is gone)` : `${id}: still running (follow it with: cc-executor logs -f ${meta.execution_id})`;
  const parts: string[] = [meta.status];
  if (meta.exit_code !== undefined && meta.exit_code !== null) parts.push(`exit ${meta.exit_code}`);
  if (meta.signal) parts.push(meta.signal);
  if (meta.error_type) parts.push(meta.error_type);
  if (meta.duration_ms !== undefined) parts.push(formatDuration(meta.duration_ms));
  return `${id}: ${parts.join(" · ")}`;
}

/** Selects tasks by number (from 1) or id. */
function selectTasks(state: RunState, selector: string | undefined): TaskSpec[] {
  if (selector === undefined) return state.list.tasks;
  const n = /^\d+$/.test(selector) ? Number(selector) : undefined;
  const found = state.list.tasks.filter((t) => (n !== undefined ? t.index === n : t.id === selector));
  if (found.length === 0) throw new CliError(`run ${state.run_id} has no task ${selector} (tasks 1-${state.list.tasks.length}: cc-executor tasks show ${state.run_id})`, ExitCode.usage);
  return found;
}

const keptKind = (t: TaskSpec): KeptKind => (t.method === "claude" ? "claude" : "command");

function header(t: TaskSpec, total: number, status: string): void {
  out(`==> [${t.index}/${total}] ${t.title} · ${t.method} · ${status} <==\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function printRun(home: string, runId: string, flags: LogsFlags): Promise<void> {
  let state = loadRunState(home, runId);
  const tasks = selectTasks(state, flags.task);
  const total = state.list.tasks.length;
  if (flags.json) {
    return printJson({
      run_id: state.run_id,
      name: state.name,
      status: state.status,
      tasks: tasks.map((t) => {
        const entry = state.tasks[t.id];
        const base = { index: t.index, id: t.id, title: t.title, method: t.method, status: entry?.status ?? "not_run", execution_id: entry?.execution_id ?? null };
        return entry?.execution_id ? { ...base, ...executionDocument(executionDir(home, entry.execution_id), keptKind(t)) } : base;
      }),
    });
  }
  for (const t of tasks) {
    const followed = new Set<string>();
    for (;;) {
      const entry = state.tasks[t.id];
      const executionId = entry?.execution_id;
      if (executionId && !followed.has(executionId)) {
        followed.add(executionId);
        header(t, total, entry.status === "running" ? `running${entry.attempts > 1 ? `, attempt ${entry.attempts}` : ""}` : entry.status);
        await printExecution(executionDir(home, executionId), keptKind(t), flags, false);
        if (!flags.follow) break;
      } else if (entry && entry.status !== "running") break;
      else if (!flags.follow || state.status !== "running") {
        if (!executionId) header(t, total, "not run");
        break;
      } else await sleep(200);
      state = loadRunState(home, runId);
    }
  }
  state = loadRunState(home, runId);
  const running = state.status === "running";
  if (!flags.quiet) info(style(`run ${runId}: ${state.status}${running ? ` (follow it with: cc-executor logs -f ${runId})` : ""}`, "dim"));
}

/** An execution as JSON: its record and its output (commands) or transcript and result (claude tasks). */
function executionDocument(dir: string, kind: KeptKind): Record<string, unknown> {
  const meta = readExecutionFile(join(dir, RunFiles.execution));
  const state = executionEnded(dir);
  const doc: Record<string, unknown> = { kind, ...(meta ?? {}), running: !state.ended };
  delete doc.version;
  delete doc.writer;
  if (kind === "command") {
    const { data, droppedBytes } = readCommandOutput(dir);
    doc.output = data.toString("utf8");
    doc.dropped_bytes = droppedBytes;
  } else {
    doc.transcript = readOrEmpty(join(dir, RunFiles.transcript))
      .toString("utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map(parseJsonOr);
    doc.result = readJson(join(dir, RunFiles.result)) ?? null;
  }
  return doc;
}

/** A transcript line as JSON, or as the text it is when it is not JSON. */
function parseJsonOr(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return line;
  }
}

function readOrEmpty(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as unknown;
  } catch {
    return undefined;
  }
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}
