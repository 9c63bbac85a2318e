import type { ExecutorEvent } from "../client/index.js";
import { Notifications } from "../protocol/names.js";
import { describeBudget, type TaskListSummary, type TaskOutcome, type TaskRow, type TaskSpec } from "../tasks/index.js";
import { progressPrinter } from "./claude-output.js";
import { expectedTaskDurations } from "./eta.js";
import { ExitCode } from "./exit-codes.js";
import { formatDuration, info, style } from "./output.js";
import { LiveLine } from "./live-line.js";

/** How `tasks run|resume|show` and `wait` show a task list: progress, summary, exit code. */

/**
 * The exit code of a finished run: 0 completed, 130 canceled or interrupted, 5 stopped by its
 * budget; a list stopped by a claude usage/rate limit or overload 75 (resume it later), by a
 * missing claude binary 127, by any other failure 1.
 */
export function summaryExitCode(summary: Pick<TaskListSummary, "status" | "tasks">): number {
  if (summary.status === "completed") return ExitCode.ok;
  if (summary.status === "canceled" || summary.status === "interrupted") return ExitCode.interrupted;
  if (summary.status === "budget_exhausted") return ExitCode.budgetExhausted;
  const errors = summary.tasks.map((t) => ("error_type" in t ? t.error_type : undefined));
  if (errors.some((e) => e === "usage_limit" || e === "rate_limit" || e === "overloaded")) return ExitCode.tryLater;
  if (errors.includes("binary_not_found")) return ExitCode.claudeNotFound;
  return ExitCode.failure;
}

const isOutcome = (row: TaskRow): row is TaskOutcome => "duration_ms" in row;

function taskLine(o: TaskOutcome, total: number): string {
  const parts = [formatDuration(o.duration_ms)];
  if (o.method === "claude") {
    parts.push(`${o.input_tokens ?? 0}/${o.output_tokens ?? 0} tokens`, `$${(o.cost_usd ?? 0).toFixed(4)}`);
    if (o.uuid_verified) parts.push("UUID verified");
  } else parts.push(`exit ${o.exit_code ?? "none"}`);
  return `[${o.index}/${total}] ${o.title} · ${parts.join(" · ")}`;
}

export interface SummaryOptions {
  stream?: NodeJS.WriteStream;
  /** Print the resume command (default true). */
  withResumeCommand?: boolean;
  /** The report the user asked for (--report F): shown instead of the run folder's. */
  reportPath?: string;
}

/**
 * The summary: a head line, totals, and a table of every task with its status, duration, tokens,
 * cost, and for a failed task its error on the next line.
 */
export function printSummary(s: TaskListSummary, options: SummaryOptions = {}): void {
  const stream = options.stream ?? process.stderr;
  const colour = s.status === "completed" ? "green" : s.status === "canceled" || s.status === "budget_exhausted" ? "yellow" : "red";
  const lines = [
    "",
    style(`${s.name}: ${s.status} · ${s.completed}/${s.total} completed${s.failed ? ` · ${s.failed} failed` : ""}${s.skipped ? ` · ${s.skipped} skipped` : ""}${s.pending ? ` · ${s.pending} not run` : ""} · ${formatDuration(s.duration_ms)}`, colour, stream),
    `tokens ${s.input_tokens} in / ${s.output_tokens} out · $${s.cost_usd.toFixed(4)}`,
  ];
  if (s.budget && (s.budget.max_cost_usd !== undefined || s.budget.max_tokens !== undefined)) lines.push(style(`budget: ${describeBudget(s.budget)}${s.status === "budget_exhausted" ? " — stopped by its budget" : ""}`, s.budget.exhausted ? "yellow" : "dim", stream));
  lines.push(
    style(`  ${"#".padStart(3)}  ${"status".padEnd(9)} ${"duration".padStart(8)}  ${"tokens in/out".padEnd(15)} ${"cost".padStart(8)}  title`, "dim", stream),
  );
  for (const t of s.tasks) {
    const o = isOutcome(t) ? t : undefined;
    const tokens = o?.method === "claude" ? `${o.input_tokens ?? 0}/${o.output_tokens ?? 0}` : "-";
    const cost = o?.method === "claude" ? `$${(o.cost_usd ?? 0).toFixed(4)}` : "-";
    lines.push(`  ${String(t.index).padStart(3)}. ${t.status.padEnd(9)} ${(o ? formatDuration(o.duration_ms) : "-").padStart(8)}  ${tokens.padEnd(15)} ${cost.padStart(8)}  ${t.title}${o?.error_type === "budget_exhausted" ? " (stopped by the budget: runs again on resume, continuing its session)" : ""}`);
    if (o && o.status !== "completed" && (o.error_type || o.message)) lines.push(style(`        ✗ ${[o.error_type, o.message].filter(Boolean).join(": ")}`, "red", stream));
  }
  for (const m of s.merges ?? []) {
    if (m.status === "merged" || m.status === "empty") continue;
    lines.push(style(`  merge of task ${m.index} (${m.title}): ${m.status}${m.message ? ` — ${m.message}` : ""}`, m.status === "pending" || m.status === "kept" ? "yellow" : "red", stream));
  }
  const report = options.reportPath ?? s.report_path;
  if (report) lines.push(style(`report: ${report}`, "dim", stream));
  if (s.resume_command && options.withResumeCommand !== false) lines.push(style(`resume with: ${s.resume_command}`, "yellow", stream));
  stream.write(`${lines.join("\n")}\n`);
}

interface Running {
  index: number;
  title: string;
  startedAt: number;
  timeoutS?: number;
}

export interface TaskProgress {
  onEvent(ev: ExecutorEvent): void;
  /** Removes the live line (call before printing the summary). */
  stop(): void;
}

/**
 * Per-task progress on stderr. With `live` (a terminal, not --quiet) a status line ticks below
 * the task lines: the running task, its elapsed time against its typical duration from history,
 * and what is left of the list ("task 7/50 · Build · 3m12s of ~5m · list ~2h10m left").
 */
export function taskProgress(options: { verbose: boolean; live?: LiveLine; tasks?: readonly TaskSpec[] }): TaskProgress {
  const live = options.live;
  const out = (line: string) => (live ? live.print(line) : info(line));
  const claudeDetail = progressPrinter(out, { countdown: !live && Boolean(process.stderr.isTTY) });
  let total = options.tasks?.length ?? 0;
  const running = new Map<string, Running>();
  const finished = new Set<string>();
  let expected = new Map<string, number>();
  if (live && options.tasks) void expectedTaskDurations(options.tasks).then((m) => (expected = m));

  const render = (): string => {
    const now = Date.now();
    const current = [...running.entries()].sort((a, b) => a[1].index - b[1].index);
    const parts: string[] = [];
    if (current.length === 0) parts.push(`${finished.size}/${total} done`);
    else {
      const [id, r] = current[0]!;
      const elapsed = now - r.startedAt;
      const typical = expected.get(id);
      parts.push(`task ${r.index}/${total}${current.length > 1 ? ` (+${current.length - 1} running)` : ""}`, r.title.length > 40 ? `${r.title.slice(0, 39)}…` : r.title);
      parts.push(typical !== undefined ? `${formatDuration(elapsed)} of ~${formatDuration(typical)}` : `${formatDuration(elapsed)}${r.timeoutS ? ` (timeout ${formatDuration(r.timeoutS * 1000)})` : ""}`);
    }
    const left = listLeft(now);
    if (left) parts.push(left);
    return parts.join(" · ");
  };

  // What is left of the list, from the typical durations of the tasks not finished.
  const listLeft = (now: number): string | undefined => {
    const open = (options.tasks ?? []).filter((t) => !finished.has(t.id));
    if (open.length === 0) return undefined;
    let ms = 0;
    let unknown = 0;
    for (const t of open) {
      const typical = expected.get(t.id);
      if (typical === undefined) unknown++;
      else ms += Math.max(0, typical - (running.has(t.id) ? now - running.get(t.id)!.startedAt : 0));
    }
    if (unknown === open.length) return `${open.length} task(s) left`;
    return `list ~${formatDuration(ms)}${unknown ? "+" : ""} left`;
  };

  return {
    onEvent(ev) {
      const p = ev.params as Record<string, any>;
      switch (ev.method) {
        case Notifications.taskListStarted:
          total = p.total;
          for (const id of p.already_done ?? []) finished.add(id);
          out(style(`▶ ${p.name}: ${p.total} task(s) · run ${p.run_id}${p.resumed ? ` · resumed, ${p.already_done.length} already done` : ""}`, "bold"));
          if (p.budget) out(style(`  budget: ${describeBudget(p.budget)}`, "dim"));
          live?.show(render);
          break;
        case Notifications.taskStarted: {
          running.set(p.task_id, { index: p.index, title: p.title, startedAt: Date.now(), timeoutS: p.timeout_s });
          const extra = [
            `${p.method}, timeout ${p.timeout_s}s${p.timeout_basis === "given" ? "" : ` ${p.timeout_basis}`}`,
            p.attempt > 1 ? `attempt ${p.attempt}` : "",
            p.worktree ? `worktree, branch ${p.worktree.branch}` : "",
            p.budget?.max_cost_usd !== undefined ? `up to $${Number(p.budget.max_cost_usd).toFixed(4)}` : "",
            p.resume_session ? `continuing session ${p.resume_session.session_id}` : "",
          ].filter(Boolean);
          out(style(`▶ [${p.index}/${total}] ${p.title} (${extra.join(", ")})`, "cyan"));
          break;
        }
        case Notifications.taskMerge: {
          const m = p.merge;
          if (m.status === "merged" || m.status === "empty") out(style(`⎇ [${m.index}/${total}] ${m.title}: ${m.status === "merged" ? `merged into ${m.into ?? "HEAD"}${m.message ? ` (${m.message})` : ""}` : (m.message ?? "nothing to merge")}`, "green"));
          else out(style(`${m.status === "kept" ? "⏸" : "✗"} [${m.index}/${total}] ${m.title}: merge ${m.status}: ${m.message ?? ""}`, m.status === "kept" ? "yellow" : "red"));
          break;
        }
        case Notifications.taskListBudget:
          // With a limit: what is spent and left, after every task that spent something (each task's line has its own cost).
          if (p.budget.max_cost_usd !== undefined || p.budget.max_tokens !== undefined) out(style(`  budget: ${describeBudget(p.budget)}`, p.budget.exhausted ? "yellow" : "dim"));
          break;
        case Notifications.taskCompleted:
          running.delete(p.task_id);
          finished.add(p.task_id);
          out(style(`✓ ${taskLine(p.outcome, total)}`, "green"));
          break;
        case Notifications.taskFailed:
          running.delete(p.task_id);
          if (!p.will_retry) finished.add(p.task_id);
          out(style(`✗ ${taskLine(p.outcome, total)} · ${p.status}: ${p.outcome.message ?? ""}${p.will_retry ? " · retrying" : ""}`, "red"));
          break;
        case Notifications.taskSkipped:
          finished.add(p.task_id);
          out(style(`- [${p.index}/${total}] ${p.title}: not run (${p.reason})`, "dim"));
          break;
        case Notifications.taskListCompleted:
          live?.stop();
          break;
        case Notifications.processOutput:
          if (options.verbose && p.task_id) (live ? live.write(style(String(p.data), "gray")) : process.stderr.write(style(String(p.data), "gray")));
          break;
        default:
          if (options.verbose) claudeDetail(ev);
          else if (ev.method === Notifications.claudeWaiting || ev.method === Notifications.claudeRetry || ev.method === Notifications.rateLimitExceeded) claudeDetail(ev);
      }
    },
    stop: () => live?.stop(),
  };
}
