import type { BudgetStatus } from "../../../src/tasks/budget-status.js";
import { badge, h } from "./dom.js";
import { cost, duration, time, tokens } from "./format.js";

/** The task rows of a run as the server's summarize() gives them (outcome fields when the task ran). */
export interface TaskRow {
  id: string;
  index: number;
  title: string;
  method: string;
  status: string;
  attempts: number;
  started_at?: string;
  ended_at?: string;
  duration_ms?: number;
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
  uuid_verified?: boolean;
  exit_code?: number | null;
  error_type?: string;
  message?: string;
  summary?: string;
}

/** A run's budget as the server reports it: what was spent, and the limits and what is left when it has them. */
export type BudgetInfo = BudgetStatus;

/** The merge step of an isolated parallel task's branch. */
export interface MergeInfo {
  task_id: string;
  index: number;
  title: string;
  branch: string;
  worktree: string;
  status: string;
  message?: string;
}

export interface RunSummary {
  run_id: string;
  name: string;
  source?: string;
  status: string;
  started_at: string;
  ended_at?: string;
  duration_ms: number;
  total: number;
  completed: number;
  failed: number;
  skipped: number;
  pending: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  tasks: TaskRow[];
  budget?: BudgetInfo;
  merges?: MergeInfo[];
  state_path?: string;
  resume_command?: string;
}

/** "$0.0246 of $0.0200 spent · $0.0000 left · 8176 of 10000 tokens" (or what was spent, without limits). */
export function budgetText(b: BudgetInfo): string {
  const usd = (n: number) => `$${n.toFixed(4)}`;
  const parts = [b.max_cost_usd !== undefined ? `${usd(b.spent_cost_usd)} of ${usd(b.max_cost_usd)} spent · ${usd(b.remaining_cost_usd ?? 0)} left` : `${usd(b.spent_cost_usd)} spent`];
  if (b.max_tokens !== undefined) parts.push(`${b.spent_tokens} of ${b.max_tokens} tokens · ${b.remaining_tokens ?? 0} left`);
  return parts.join(" · ");
}

interface Row {
  task: TaskRow;
  tr: HTMLTableRowElement;
  /** Epoch ms the running attempt started (for the live duration). */
  runningSince?: number;
}

/**
 * A run's per-task timeline: status, duration (with a bar relative to the longest task), attempts,
 * tokens, cost and the UUID check, updated live from task.* notifications.
 */
export class Timeline {
  readonly root: HTMLElement;
  private readonly summaryLine: HTMLElement;
  private readonly mergeList: HTMLElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly rows = new Map<string, Row>();
  private run: RunSummary | undefined;
  private timer: number | undefined;

  constructor() {
    this.summaryLine = h("div", { className: "run-summary" });
    this.tbody = h("tbody");
    const head = h(
      "tr",
      {},
      ...["#", "Task", "Method", "Status", "Duration", "Attempts", "Tokens in / out", "Cost", "UUID"].map((t) => h("th", { scope: "col" }, t)),
    );
    this.mergeList = h("ul", { className: "merges" });
    this.root = h("div", { className: "timeline" }, this.summaryLine, h("div", { className: "table-wrap" }, h("table", { className: "tasks" }, h("thead", {}, head), this.tbody)), this.mergeList);
  }

  load(run: RunSummary): void {
    this.run = run;
    this.rows.clear();
    this.tbody.replaceChildren();
    for (const task of [...run.tasks].sort((a, b) => a.index - b.index)) {
      const row: Row = { task, tr: h("tr", { dataset: { task: task.id } }) };
      if (task.status === "running") row.runningSince = task.started_at ? Date.parse(task.started_at) : Date.now();
      this.rows.set(task.id, row);
      this.tbody.append(row.tr);
    }
    this.render();
  }

  /** Applies one task-list notification (live or replayed). */
  apply(method: string, p: Record<string, unknown>): void {
    if (!this.run) return;
    const id = String(p.task_id ?? "");
    const row = this.rows.get(id);
    switch (method) {
      case "tasklist.started":
        this.run.status = "running";
        if (p.budget) this.run.budget = p.budget as BudgetInfo;
        break;
      case "tasklist.budget":
        this.run.budget = p.budget as BudgetInfo;
        break;
      case "task.merge": {
        const m = p.merge as MergeInfo;
        this.run.merges = [...(this.run.merges ?? []).filter((x) => x.task_id !== m.task_id), m].sort((a, b) => a.index - b.index);
        break;
      }
      case "task.started":
        if (row) {
          // A replayed start of a task already known to be running keeps its real start time.
          if (row.task.status !== "running" || row.runningSince === undefined) row.runningSince = Date.now();
          row.task = { ...row.task, status: "running", attempts: Number(p.attempt ?? row.task.attempts + 1) };
        }
        break;
      case "task.completed":
      case "task.failed":
        if (row && p.outcome && typeof p.outcome === "object") {
          row.task = { ...(p.outcome as TaskRow) };
          row.runningSince = undefined;
        }
        break;
      case "task.skipped":
        if (row) {
          row.task = { ...row.task, status: "skipped", message: String(p.reason ?? "") };
          row.runningSince = undefined;
        }
        break;
      case "tasklist.completed":
        if (p.summary && typeof p.summary === "object") {
          this.load(p.summary as RunSummary);
          return;
        }
        this.run.status = String(p.status ?? this.run.status);
        break;
      default:
        return;
    }
    this.recount();
    this.render();
  }

  get status(): string | undefined {
    return this.run?.status;
  }

  dispose(): void {
    if (this.timer !== undefined) window.clearInterval(this.timer);
    this.timer = undefined;
  }

  private recount(): void {
    const run = this.run!;
    const tasks = [...this.rows.values()].map((r) => r.task);
    run.tasks = tasks;
    run.completed = tasks.filter((t) => t.status === "completed").length;
    run.failed = tasks.filter((t) => t.status === "failed" || t.status === "timeout" || t.status === "canceled").length;
    run.skipped = tasks.filter((t) => t.status === "skipped").length;
    run.pending = tasks.filter((t) => t.status === "pending" || t.status === "running").length;
    run.input_tokens = tasks.reduce((n, t) => n + (t.input_tokens ?? 0), 0);
    run.output_tokens = tasks.reduce((n, t) => n + (t.output_tokens ?? 0), 0);
    run.cost_usd = tasks.reduce((n, t) => n + (t.cost_usd ?? 0), 0);
  }

  private liveDuration(row: Row): number | undefined {
    return row.runningSince !== undefined ? Date.now() - row.runningSince : row.task.duration_ms;
  }

  private render(): void {
    const run = this.run!;
    const rows = [...this.rows.values()];
    const longest = Math.max(1, ...rows.map((r) => this.liveDuration(r) ?? 0));
    for (const row of rows) {
      const t = row.task;
      const ms = this.liveDuration(row);
      const bar = h("span", { className: `bar s-${t.status}` });
      bar.style.width = `${Math.max(2, Math.round(((ms ?? 0) / longest) * 100))}%`;
      const uuid = t.method !== "claude" ? "" : t.uuid_verified === true ? "✓ verified" : t.uuid_verified === false ? "✗ not verified" : "";
      const title = h("td", { className: "title" }, t.title);
      const detail = t.message || t.error_type || (t.exit_code !== undefined && t.exit_code !== null && t.exit_code !== 0 ? `exit code ${t.exit_code}` : "");
      if (detail) title.append(h("div", { className: "muted small" }, detail));
      row.tr.className = `s-${t.status}`;
      row.tr.replaceChildren(
        h("td", { className: "num" }, t.index),
        title,
        h("td", {}, t.method),
        h("td", { className: "status" }, badge(t.status)),
        h("td", { className: "duration", title: t.started_at ? `started ${time(t.started_at)}` : "" }, h("span", { className: "bar-track" }, bar), h("span", { className: "ms" }, duration(ms))),
        h("td", { className: "num" }, t.attempts || ""),
        h("td", { className: "num" }, t.method === "claude" ? tokens(t.input_tokens, t.output_tokens) : ""),
        h("td", { className: "num" }, cost(t.cost_usd)),
        h("td", { className: uuid.startsWith("✓") ? "ok" : uuid ? "bad" : "" }, uuid),
      );
    }
    const ran = run.completed + run.failed;
    const parts: Array<HTMLElement | null> = [
      badge(run.status),
      h("span", {}, `${run.completed}/${run.total} completed`),
      run.failed ? h("span", { className: "bad" }, `${run.failed} failed`) : null,
      run.skipped ? h("span", {}, `${run.skipped} skipped`) : null,
      h("span", {}, `tokens ${tokens(run.input_tokens, run.output_tokens)}`),
      h("span", {}, `cost ${cost(run.cost_usd)}`),
      run.budget && (run.budget.max_cost_usd !== undefined || run.budget.max_tokens !== undefined) ? h("span", { className: `budget${run.budget.exhausted ? " bad" : ""}` }, `budget ${budgetText(run.budget)}`) : null,
      ran || run.status !== "running" ? h("span", {}, `duration ${duration(run.status === "running" ? Date.now() - Date.parse(run.started_at) : run.duration_ms)}`) : null,
    ];
    this.summaryLine.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
    this.mergeList.replaceChildren(
      ...(run.merges ?? []).map((m) =>
        h("li", { className: `merge m-${m.status}`, dataset: { task: m.task_id } }, h("span", {}, `task ${m.index} · ${m.title}: `), badge(m.status), h("code", {}, m.branch), m.message ? h("div", { className: "muted small" }, m.message) : ""),
      ),
    );
    const anyRunning = rows.some((r) => r.runningSince !== undefined);
    if (anyRunning && this.timer === undefined) this.timer = window.setInterval(() => this.render(), 1000);
    if (!anyRunning && this.timer !== undefined) {
      window.clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
