import { loadConfig } from "../../config.js";
import { runTiming, type RunTiming } from "../../runs/remaining.js";
import { resolveRun, UnknownRunError, waitForRun, type RunningRun, type RunReport } from "../../runs/run-status.js";
import { callerBudgetS, deadlineAfter } from "../budget.js";
import { withStoreBudget } from "../eta.js";
import { DEFAULT_MAX_WAIT_S, type WaitFlags } from "../commands/wait.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatDuration, info, printJson, style } from "../output.js";
import { claudeExitCode, printClaudeResult } from "../claude-output.js";
import { printSummary, summaryExitCode } from "../task-list-output.js";

/** The default --max-wait: half of the caller's Bash timeout when known (see callerBudgetS), else DEFAULT_MAX_WAIT_S. */
export function defaultMaxWaitS(env: NodeJS.ProcessEnv = process.env): number {
  return callerBudgetS(env) ?? DEFAULT_MAX_WAIT_S;
}

/** What `wait` prints for a run that has not finished by the deadline. */
export interface StillRunning extends RunTiming {
  id: string;
  kind: RunningRun["kind"];
  status: "running";
  finished: false;
  progress?: RunningRun["progress"] & { task_elapsed_ms: number };
  wait_command: string;
  logs_command: string;
}

/** `cc-executor wait`: the run's exit code once it has finished, else 4 (still running). */
export async function waitCommand(id: string, flags: WaitFlags): Promise<number> {
  const config = loadConfig();
  const deadline = deadlineAfter(flags.maxWait ?? defaultMaxWaitS());
  let report: RunReport;
  try {
    const run = resolveRun(config.home, id);
    report = await waitForRun(config.home, run, { deadline, onChange: flags.quiet || !process.stderr.isTTY ? undefined : progressLine() });
  } catch (err) {
    if (err instanceof UnknownRunError) throw new CliError(err.message, ExitCode.usage);
    throw err;
  }
  if (report.finished && "status" in report && report.status === "lost") {
    if (flags.json) printJson(report);
    throw new CliError(`claude task ${report.id}: ${report.message}`, ExitCode.failure);
  }
  if (report.kind === "claude" && report.finished && "result" in report) {
    printClaudeResult(report.result, flags);
    return claudeExitCode(report.result);
  }
  if (report.kind === "task-list" && report.finished) {
    if (!flags.quiet) printSummary(report.summary);
    if (flags.json) printJson(report.summary);
    return summaryExitCode(report.summary);
  }
  const running = await stillRunning(config, report as RunningRun);
  if (flags.json) printJson(running);
  if (!flags.quiet) info(style(`still running: ${describe(running)} — wait again: cc-executor wait ${running.id}`, "cyan"));
  return ExitCode.notYet;
}

async function stillRunning(config: ReturnType<typeof loadConfig>, run: RunningRun): Promise<StillRunning> {
  const now = Date.now();
  // History gives the start, timeout and typical durations; a store that is slow to answer must not hold the answer up.
  const timing = await withStoreBudget((store) => runTiming(store, config.home, run, now), STORE_BUDGET_MS, config);
  const progress = run.progress ? { ...run.progress, task_elapsed_ms: Math.max(0, now - Date.parse(run.progress.task_started_at)) } : undefined;
  return {
    id: run.id,
    kind: run.kind,
    status: "running",
    finished: false,
    started_at: timing?.started_at ?? run.started_at,
    elapsed_ms: timing?.elapsed_ms ?? (run.started_at ? Math.max(0, now - Date.parse(run.started_at)) : undefined),
    ...(progress ? { progress } : {}),
    ...(timing?.timeout_s !== undefined ? { timeout_s: timing.timeout_s } : {}),
    estimate: timing?.estimate ?? { remaining_ms: null, basis: "none", samples: 0 },
    wait_command: `cc-executor wait ${run.id} --json`,
    logs_command: `cc-executor logs ${run.id}`,
  };
}

/** How long `wait` gives history for an estimate before answering without one. */
const STORE_BUDGET_MS = 1000;

function describe(r: StillRunning): string {
  const parts: string[] = [];
  if (r.progress) parts.push(`task ${r.progress.task}/${r.progress.total} "${r.progress.title}" (${formatDuration(r.progress.task_elapsed_ms)})`);
  else parts.push(r.kind === "claude" ? "claude task" : "task list");
  if (r.elapsed_ms !== undefined) parts.push(`${formatDuration(r.elapsed_ms)} in all`);
  if (r.estimate.remaining_ms !== null) parts.push(`about ${formatDuration(r.estimate.remaining_ms)} left${r.estimate.basis === "partial" ? " (some tasks have no history)" : ""}`);
  return parts.join(" · ");
}

/** On a terminal: one line each time the running task changes. */
function progressLine(): (r: RunReport) => void {
  let last = "";
  return (r) => {
    if (r.finished) return;
    const line = r.progress ? `waiting: task ${r.progress.task}/${r.progress.total} ${r.progress.title}` : `waiting for ${r.id}`;
    if (line !== last) info(style(line, "dim"));
    last = line;
  };
}
