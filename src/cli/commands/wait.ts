import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { loadConfig } from "../../config.js";
import { runTiming, type RunTiming } from "../../runs/remaining.js";
import { resolveRun, UnknownRunError, waitForRun, type RunningRun, type RunReport } from "../../runs/run-status.js";
import { callerBudgetS, deadlineAfter } from "../budget.js";
import { withStoreBudget } from "../eta.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatDuration, info, printJson, style } from "../output.js";
import { claudeExitCode, printClaudeResult } from "../claude-output.js";
import { printSummary, summaryExitCode } from "../task-list-output.js";

/** Without --max-wait and without BASH_DEFAULT_TIMEOUT_MS: well under the Bash tool's 2-minute default. */
export const DEFAULT_MAX_WAIT_S = 60;

/** The default --max-wait: half of the caller's Bash timeout when known (see callerBudgetS), else DEFAULT_MAX_WAIT_S. */
export function defaultMaxWaitS(env: NodeJS.ProcessEnv = process.env): number {
  return callerBudgetS(env) ?? DEFAULT_MAX_WAIT_S;
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number of seconds (0 or more), got "${value}"`);
  return n;
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

interface WaitFlags {
  maxWait?: number;
  json?: boolean;
  quiet?: boolean;
}

export function registerWait(program: Command): void {
  program
    .command("wait")
    .description("wait (a bounded time) for a claude task or task-list run to finish and print its result, or that it is still running")
    .argument("<id>", "a claude task's execution id or a task-list run id (tl-…), e.g. from --detach")
    .option("-w, --max-wait <seconds>", `return after at most this long, counted from this command's start (default: half of BASH_DEFAULT_TIMEOUT_MS when set, else ${DEFAULT_MAX_WAIT_S})`, parseSeconds)
    .option("--json", "print the result as JSON: the same object as `claude --json` / `tasks run --json`, or a \"still running\" object")
    .option("-q, --quiet", "no progress on stderr")
    .addHelpText(
      "after",
      `
Reads the run folder in the state directory (CC_EXECUTOR_HOME); it needs no server, and works for
runs that ended long ago, whoever started them.

Exit codes: those of \`cc-executor claude\` / \`tasks run\` for a finished run (0 success, 1 failure,
75 try later, 124 timeout, 127 claude not found, 130 canceled or interrupted), 4 still running
(call wait again), 2 unknown id.

Examples:
  cc-executor wait 3f1c9a2e-…                    # blocks at most 60 s
  cc-executor wait tl-20261201-101500-3f9a1c --json --max-wait 300
  while cc-executor wait "$id" --quiet; [ $? -eq 4 ]; do :; done   # until it has finished`,
    )
    .action(async (id: string, flags: WaitFlags) => {
      process.exitCode = await waitCommand(id, flags);
    });
}

async function waitCommand(id: string, flags: WaitFlags): Promise<number> {
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
