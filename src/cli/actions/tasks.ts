import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { RpcClientError, type ExecutorEvent, type TaskListRequest, type TaskListRequestOptions } from "../../client/index.js";
import { loadConfig } from "../../config.js";
import { ErrorCodes } from "../../protocol/names.js";
import type { SubmitOptions, SubmittedTaskList } from "../../queue/index.js";
import { taskListEventsToSink } from "../../server/task-list-method.js";
import type { NotificationSink } from "../../server/sink.js";
import { taskListRunServices } from "../../doors/index.js";
import { HistoryRecorder, storeOptionsFrom, timeoutLimitsFrom } from "../../store/index.js";
import { openStoreOrFallback } from "../../store/fallback.js";
import { budgetFromLimits, checkPreTaskList, formatFromPath, groupSettings, isRunId, listRunStates, loadRunState, loadTaskListFile, planPhases, summarize, TaskListError, TaskListRefusedError, RunNotFoundError, RunNotResumableError, type TaskList, type TaskListEvent, type TaskListSummary, type TaskSpec } from "../../tasks/index.js";
import { connectOrStartLocal } from "../connect.js";
import { startDetached } from "../detach.js";
import { cancelOnceStarted, onInterrupt } from "../interrupt.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatDuration, formatTime, info, printJson, style } from "../output.js";
import { snakeKeys } from "../json-casing.js";
import { requestEnv, warnSettingDifferences } from "../caller-env.js";
import type { RunFlags } from "../commands/tasks.js";
import { isLiveTerminal, LiveLine } from "../live-line.js";
import { printSummary, summaryExitCode, taskProgress } from "../task-list-output.js";
import { loadProjectHooks } from "./hooks.js";
import { loadQueue, requireRedisUrl } from "./worker.js";

/** `cc-executor tasks run`: a task list from a file, here (through a server) or on the queue; the exit code. */
export async function tasksRun(file: string, flags: RunFlags): Promise<number> {
  let text: string;
  let list: TaskList;
  try {
    list = loadTaskListFile(file); // clear errors (with line numbers) before anything starts
    text = readFileSync(list.source!, "utf8");
  } catch (err) {
    throw new CliError((err as Error).message, err instanceof TaskListError ? ExitCode.usage : ExitCode.failure);
  }
  if (flags.queue && flags.detach) throw new CliError("--detach and --queue do not go together: a queued list is run by this command", ExitCode.usage);
  if (flags.queue) return runListOnQueue({ list: { ...list, source: resolve(file) } }, flags);
  const source = resolve(file);
  return runList({ text, format: formatFromPath(file) ?? undefined, source }, flags, list.tasks);
}

/** `cc-executor tasks resume`: the exit code. */
export async function tasksResume(runId: string, flags: RunFlags): Promise<number> {
  assertRunId(runId);
  if (flags.queue && flags.detach) throw new CliError("--detach and --queue do not go together: a queued list is run by this command", ExitCode.usage);
  return flags.queue ? runListOnQueue({ resumeRunId: runId }, flags) : runList({ resume_run_id: runId }, flags);
}

/** `cc-executor tasks list`. */
export function tasksList(flags: { limit: number; json?: boolean }): void {
  const home = loadConfig().home;
  const runs = listRunStates(home).slice(0, flags.limit).map((s) => {
    const sum = summarize(s, "");
    return { run_id: s.run_id, name: s.name, status: s.status, completed: sum.completed, total: sum.total, failed: sum.failed, started_at: s.started_at, ended_at: s.ended_at, duration_ms: sum.duration_ms, source: s.source, resume_command: sum.resume_command };
  });
  if (flags.json) return printJson(runs);
  if (runs.length === 0) return info(`no task-list runs yet in ${home} (start one with: cc-executor tasks run <file>)`);
  process.stdout.write(style(`${"run id".padEnd(25)}  ${"started".padEnd(19)}  ${"status".padEnd(16)} ${"done".padStart(7)} ${"duration".padStart(8)}  name\n`, "dim", process.stdout));
  for (const r of runs) {
    const colour = r.status === "completed" ? "green" : r.status === "running" ? "cyan" : r.status === "failed" ? "red" : "yellow";
    process.stdout.write(`${r.run_id.padEnd(25)}  ${formatTime(r.started_at)}  ${style(r.status.padEnd(16), colour, process.stdout)} ${`${r.completed}/${r.total}`.padStart(7)} ${formatDuration(r.duration_ms).padStart(8)}  ${r.name}\n`);
  }
}

/** `cc-executor tasks show`. */
export function tasksShow(runId: string, flags: { json?: boolean }): void {
  assertRunId(runId);
  const home = loadConfig().home;
  let summary: TaskListSummary;
  try {
    const state = loadRunState(home, runId);
    summary = summarize(state, `${home}/runs/${runId}/checkpoint.json`);
  } catch (err) {
    throw new CliError((err as Error).message, err instanceof RunNotFoundError ? ExitCode.usage : ExitCode.failure);
  }
  if (flags.json) return printJson(summary);
  printSummary(summary, { stream: process.stdout });
}

/** `cc-executor tasks validate`. */
export function tasksValidate(file: string, flags: { json?: boolean }): void {
  let list;
  try {
    list = loadTaskListFile(file);
  } catch (err) {
    throw new CliError((err as Error).message, err instanceof TaskListError ? ExitCode.usage : ExitCode.failure);
  }
  if (flags.json) return printJson(snakeKeys(list));
  const budget = [list.budget?.maxCostUsd !== undefined ? `$${list.budget.maxCostUsd}` : "", list.budget?.maxTokens !== undefined ? `${list.budget.maxTokens} tokens` : ""].filter(Boolean).join(", ");
  process.stdout.write(`${list.name}: ${list.tasks.length} task(s)${budget ? ` · budget ${budget}` : ""}\n`);
  for (const phase of planPhases(list)) {
    const items = phase.kind === "sequential" ? [phase.task] : phase.tasks;
    if (phase.kind === "parallel") {
      const g = groupSettings(list, phase.group);
      process.stdout.write(`  parallel group "${phase.group}" (isolation: ${g.isolation ?? "worktree in a git repository"}, on conflict: ${g.onConflict}):\n`);
    }
    for (const t of items) {
      const timeout = t.timeout ?? list.defaults.timeout;
      const extra = [t.method, timeout ? `timeout ${timeout}s` : "timeout estimated", t.onFailure ? `on failure: ${t.onFailure.action}${t.onFailure.action === "retry" ? ` ${t.onFailure.times}` : ""}` : ""].filter(Boolean).join(", ");
      process.stdout.write(`  ${phase.kind === "parallel" ? "  " : ""}${t.index}. ${t.title} (${extra})\n`);
    }
  }
}

/** A malformed run id is a usage error, said in the user's words (not a protocol field's). */
function assertRunId(runId: string): void {
  if (!isRunId(runId)) throw new CliError(`"${runId}" is not a task-list run id (they look like tl-20261125-163829-3f9a1c; see: cc-executor tasks list)`, ExitCode.usage);
}

function requestOptions(request: TaskListRequest, flags: RunFlags): TaskListRequestOptions {
  return {
    concurrency: flags.concurrency,
    cwd: "resume_run_id" in request ? undefined : resolve(flags.cwd ?? process.cwd()),
    report: flags.report ? resolve(flags.report) : undefined,
    // isolation, budget and sessions
    ...(flags.isolation ? { isolation: flags.isolation } : {}),
    ...(flags.maxCost !== undefined ? { max_cost: flags.maxCost } : {}),
    ...(flags.maxTokens !== undefined ? { max_tokens: flags.maxTokens } : {}),
    ...(flags.resumeSession === false ? { resume_sessions: false } : {}),
    // CLAUDE_BIN and --env/--pass-env (docs/cli.md "What a request carries")
    env: requestEnv(flags, { claude: true }),
  };
}

/** A refusal before anything runs (-32602: bad list or run id) is a usage error. */
function listError(err: unknown): CliError {
  const refused = err instanceof RpcClientError && err.code === ErrorCodes.invalidParams;
  return new CliError((err as Error).message.replace(/^Invalid params: /, ""), refused ? ExitCode.usage : ExitCode.failure);
}

function runDetached(request: TaskListRequest, flags: RunFlags): Promise<number> {
  const options = requestOptions(request, flags); // bad --env/--pass-env: exit 2 before anything starts
  return startDetached(flags, { kind: "task-list", command: "tasks" }, (client) => client.detachTaskList(request, options), listError);
}

/** The tasks of a run to resume, from its checkpoint here (for ETAs; undefined when it is not here). */
function tasksOfRun(runId: string): TaskSpec[] | undefined {
  try {
    return loadRunState(loadConfig().home, runId).list.tasks;
  } catch {
    return undefined;
  }
}

/** Progress for a run: a live line on a terminal, plain lines otherwise, nothing with --quiet. */
function progressFor(flags: RunFlags, tasks: readonly TaskSpec[] | undefined) {
  return flags.quiet ? undefined : taskProgress({ verbose: Boolean(flags.verbose), live: isLiveTerminal(flags.quiet) ? new LiveLine() : undefined, tasks });
}

async function runList(request: TaskListRequest, flags: RunFlags, tasks?: readonly TaskSpec[]): Promise<number> {
  if (flags.detach) return runDetached(request, flags);
  const options = requestOptions(request, flags); // bad --env/--pass-env: exit 2 before connecting
  const conn = await connectOrStartLocal({ url: flags.url, token: flags.token, local: flags.local }, flags.quiet);
  const cancel = cancelOnceStarted(() => conn.client.cancel());
  const interrupt = onInterrupt("stopping the running task…", cancel.request);
  const progress = progressFor(flags, tasks ?? ("resume_run_id" in request ? tasksOfRun(request.resume_run_id) : undefined));
  try {
    if (!conn.local) await warnSettingDifferences(conn.client, "tasks", conn.url, conn.config);
    const summary = await conn.client.runTaskList(request, { ...options, onEvent: (ev) => (cancel.started(), progress?.onEvent(ev)) });
    progress?.stop();
    const stopped = interrupt.interrupted && summary.status !== "completed";
    if (!flags.quiet) printSummary(summary, { withResumeCommand: !stopped, reportPath: options.report });
    if (flags.json) printJson(summary);
    // Always said, --quiet or not: whoever stopped it needs the way back (completed tasks are kept).
    if (stopped) info(style(`run ${summary.run_id} stopped by ${interrupt.signal}${summary.resume_command ? `; resume with: ${summary.resume_command}` : ""}`, "yellow"));
    return stopped ? ExitCode.interrupted : summaryExitCode(summary);
  } catch (err) {
    throw listError(err);
  } finally {
    progress?.stop();
    interrupt.dispose();
    await conn.close();
  }
}

/** Progress from a run in this process: its events as the notifications the server would send, to the same printer. */
function taskListEventPrinter(print: (ev: ExecutorEvent) => void): (ev: TaskListEvent) => void {
  const sink: NotificationSink = {
    notify: (method, params) => print({ method, params } as ExecutorEvent),
    isCongested: false,
    isClosed: false,
    on: () => sink,
    off: () => sink,
  };
  let translate: ((ev: TaskListEvent) => void) | undefined;
  return (ev) => {
    translate ??= taskListEventsToSink(sink, ev.run_id);
    translate(ev);
  };
}

/** `tasks run --queue` / `tasks resume --queue`: the runner here, every task on a queue worker. */
async function runListOnQueue(what: { list: TaskList } | { resumeRunId: string }, flags: RunFlags): Promise<number> {
  const config = loadConfig();
  const redisUrl = requireRedisUrl(config, "--queue");
  const options: SubmitOptions = {
    redisUrl,
    queueName: flags.queueName ?? config.queueName,
    secret: config.queueSecret,
    home: config.home,
    concurrency: flags.concurrency,
    report: flags.report ? resolve(flags.report) : undefined,
    // --env/--pass-env; not CLAUDE_BIN: a path on this machine means nothing on the workers'
    env: requestEnv(flags, { claude: false }),
  };
  const progress = progressFor(flags, "list" in what ? what.list.tasks : tasksOfRun(what.resumeRunId));
  if (progress) options.onEvent = taskListEventPrinter(progress.onEvent);
  if ("list" in what) options.cwd = resolve(flags.cwd ?? process.cwd());
  if (flags.isolation) options.isolation = flags.isolation;
  const budget = budgetFromLimits(flags.maxCost, flags.maxTokens);
  if (budget) options.budget = budget;
  if (flags.resumeSession === false) options.resumeSessions = false;
  // As in local mode: the project's task hooks here (workers run the execute/claude hooks), history and estimates.
  const hooks = loadProjectHooks(config, options.cwd);
  const store = await openStoreOrFallback(storeOptionsFrom(config));
  const history = new HistoryRecorder(store, timeoutLimitsFrom(config));
  Object.assign(options, taskListRunServices(config, { hooks, history }));
  try {
    return await submitAndFollow(what, options, flags);
  } finally {
    progress?.stop();
    await history.flush();
    await store.close().catch(() => undefined);
  }
}

async function submitAndFollow(what: { list: TaskList } | { resumeRunId: string }, options: SubmitOptions, flags: RunFlags): Promise<number> {
  if ("list" in what) {
    try {
      await checkPreTaskList(options.hooks, what.list, { cwd: options.cwd });
    } catch (err) {
      if (err instanceof TaskListRefusedError) throw new CliError(`task list not allowed: ${err.message}`, ExitCode.failure);
      throw err;
    }
  }
  const { RedisUnreachableError, resumeSubmittedTaskList, submitTaskList } = await loadQueue();
  let submitted: SubmittedTaskList;
  try {
    submitted = "list" in what ? await submitTaskList(what.list, options) : await resumeSubmittedTaskList(what.resumeRunId, options);
  } catch (err) {
    if (err instanceof RedisUnreachableError) throw new CliError(err.message, ExitCode.unreachable);
    const refused = err instanceof TaskListError || err instanceof RunNotFoundError || err instanceof RunNotResumableError;
    throw new CliError((err as Error).message, refused ? ExitCode.usage : ExitCode.failure);
  }
  if (!flags.quiet) info(style(`queue ${options.queueName}: tasks go to the workers one at a time, in order`, "dim"));
  const interrupt = onInterrupt("canceling the queued and running tasks…", () => submitted.cancel());
  try {
    const summary = await submitted.finished();
    if (summary.resume_command) summary.resume_command += " --queue";
    if (!flags.quiet) printSummary(summary, { reportPath: options.report });
    if (flags.json) printJson(summary);
    return interrupt.interrupted && summary.status !== "completed" ? ExitCode.interrupted : summaryExitCode(summary);
  } finally {
    interrupt.dispose();
  }
}
