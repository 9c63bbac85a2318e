import { BudgetMeter, describeBudget, emptySpent, type BudgetStatus } from "./budget.js";
import type { RunState, RunStatus } from "./checkpoint.js";
import type { MergeStep, TaskMethod, TaskOutcome, TaskStatus } from "./model.js";

/** One row of the summary: the outcome when the task ran, else its id, title and "pending"/"skipped". */
export type TaskRow = TaskOutcome | { id: string; index: number; title: string; method: TaskMethod; status: TaskStatus; attempts: number };

/** The JSON summary of a run (`tasks run --json`, report.json, the tasklist.completed notification). */
export interface TaskListSummary {
  run_id: string;
  name: string;
  source?: string;
  status: RunStatus;
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
  /** What the run spent (every attempt and merge resolver), and its limits and what is left when it has a budget. */
  budget: BudgetStatus;
  tasks: TaskRow[];
  /** Isolated tasks' merge steps, in task order (absent when no group was isolated). */
  merges?: MergeStep[];
  state_path: string;
  report_path?: string;
  json_report_path?: string;
  /** Set when the run can be continued. */
  resume_command?: string;
}

const isOutcome = (row: TaskRow): row is TaskOutcome => "started_at" in row && "ended_at" in row;

export function summarize(state: RunState, statePath: string, skipped: ReadonlySet<string> = new Set()): TaskListSummary {
  const rows: TaskRow[] = state.list.tasks.map((t) => {
    const entry = state.tasks[t.id];
    if (entry && entry.status !== "running") return entry;
    return { id: t.id, index: t.index, title: t.title, method: t.method, status: entry?.status === "running" ? "running" : skipped.has(t.id) ? "skipped" : "pending", attempts: entry?.attempts ?? 0 };
  });
  const outcomes = rows.filter(isOutcome);
  const ended = state.ended_at ?? state.updated_at;
  const merges = Object.values(state.merges ?? {}).sort((a, b) => a.index - b.index);
  const mergesLeft = merges.some((m) => m.status === "pending" || m.status === "conflict" || m.status === "failed");
  const canResume = state.status !== "completed" && (rows.some((r) => r.status !== "completed") || mergesLeft);
  const budget = new BudgetMeter(state.options.budget, state.spent ?? emptySpent()).status();
  const more = state.status === "budget_exhausted" ? ` ${[budget.max_cost_usd !== undefined ? "--max-cost <more>" : "", budget.max_tokens !== undefined ? "--max-tokens <more>" : ""].filter(Boolean).join(" ")}` : "";
  return {
    run_id: state.run_id,
    name: state.name,
    source: state.source,
    status: state.status,
    started_at: state.started_at,
    ended_at: state.ended_at,
    duration_ms: Math.max(0, Date.parse(ended) - Date.parse(state.started_at)),
    total: rows.length,
    completed: rows.filter((r) => r.status === "completed").length,
    failed: rows.filter((r) => r.status === "failed" || r.status === "timeout" || r.status === "canceled").length,
    skipped: rows.filter((r) => r.status === "skipped").length,
    pending: rows.filter((r) => r.status === "pending" || r.status === "running").length,
    input_tokens: outcomes.reduce((n, o) => n + (o.input_tokens ?? 0), 0),
    output_tokens: outcomes.reduce((n, o) => n + (o.output_tokens ?? 0), 0),
    cost_usd: Math.round(outcomes.reduce((n, o) => n + (o.cost_usd ?? 0), 0) * 1e6) / 1e6,
    budget,
    tasks: rows,
    ...(merges.length ? { merges } : {}),
    state_path: statePath,
    resume_command: canResume ? `cc-executor tasks resume ${state.run_id}${more.trimEnd()}` : undefined,
  };
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 100) / 10;
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();
const MERGE_ICON: Record<string, string> = { merged: "✅", empty: "✅", conflict: "⚠️", failed: "❌", kept: "⏸️", pending: "…" };
const ICON: Record<string, string> = { completed: "✅", failed: "❌", timeout: "⏱️", canceled: "⛔", skipped: "⏭️", pending: "…", running: "▶" };

/** The markdown report: a table of every task, then each task's result summary and files. */
export function markdownReport(s: TaskListSummary): string {
  const out: string[] = [];
  out.push(`# Task list report: ${s.name}`, "");
  out.push(`- Run: \`${s.run_id}\`${s.source ? ` from \`${s.source}\`` : ""}`);
  out.push(`- Status: **${s.status}** — ${s.completed}/${s.total} completed, ${s.failed} failed, ${s.skipped} skipped, ${s.pending} not run`);
  out.push(`- Started ${s.started_at}${s.ended_at ? `, ended ${s.ended_at}` : ""} (${duration(s.duration_ms)})`);
  out.push(`- Tokens: ${s.input_tokens} in / ${s.output_tokens} out · cost $${s.cost_usd.toFixed(4)}`);
  if (s.budget) out.push(`- Budget: ${describeBudget(s.budget)}${s.status === "budget_exhausted" ? " — **stopped by its budget**" : ""}`);
  if (s.resume_command) out.push(`- Resume with: \`${s.resume_command}\``);
  out.push("", "| # | Task | Method | Status | Duration | Attempts | Tokens (in/out) | Cost | UUID |", "|---|---|---|---|---|---|---|---|---|");
  for (const r of s.tasks) {
    const o = isOutcome(r) ? r : undefined;
    const tokens = o && o.method === "claude" ? `${o.input_tokens ?? 0}/${o.output_tokens ?? 0}` : "";
    const cost = o?.cost_usd !== undefined ? `$${o.cost_usd.toFixed(4)}` : "";
    const uuid = o?.method === "claude" ? (o.uuid_verified ? "verified" : "not verified") : "";
    out.push(`| ${r.index} | ${cell(r.title)} | ${r.method} | ${ICON[r.status] ?? ""} ${r.status} | ${o ? duration(o.duration_ms) : ""} | ${r.attempts} | ${tokens} | ${cost} | ${uuid} |`);
  }
  if (s.merges?.length) {
    out.push("", "## Merges", "", "| # | Task | Branch | Merge |", "|---|---|---|---|");
    for (const m of s.merges) out.push(`| ${m.index} | ${cell(m.title)} | \`${m.branch}\` | ${MERGE_ICON[m.status] ?? ""} ${m.status}${m.message ? `: ${cell(m.message)}` : ""} |`);
  }
  for (const r of s.tasks) {
    if (!isOutcome(r)) continue;
    out.push("", `## Task ${r.index}: ${r.title}`, "");
    out.push(`Status: ${r.status}${r.method === "direct" ? ` · exit code ${r.exit_code ?? "none"}` : ""}${r.message ? ` · ${r.message}` : ""}`);
    if (r.summary) out.push("", `Summary: ${r.summary}`);
    if (r.files_created.length) out.push("", `Files created: ${r.files_created.map((f) => `\`${f}\``).join(", ")}`);
    if (r.files_modified.length) out.push("", `Files modified: ${r.files_modified.map((f) => `\`${f}\``).join(", ")}`);
    if (r.transcript_path) out.push("", `Transcript: \`${r.transcript_path}\``);
  }
  return `${out.join("\n")}\n`;
}
