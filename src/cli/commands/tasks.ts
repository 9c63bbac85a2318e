import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { RpcClientError, type ExecutorEvent, type TaskListRequest, type TaskListRequestOptions } from "../../client/index.js";
import { loadConfig } from "../../config.js";
import { ErrorCodes, Notifications } from "../../protocol/index.js";
import type { SubmitOptions, SubmittedTaskList } from "../../queue/index.js";
import { taskListEventsToSink } from "../../server/task-list-method.js";
import type { NotificationSink } from "../../server/sink.js";
import { taskListRunServices } from "../../doors/index.js";
import { HistoryRecorder, storeOptionsFrom, timeoutLimitsFrom } from "../../store/index.js";
import { openStoreOrFallback } from "../../store/fallback.js";
import { budgetFromLimits, checkPreTaskList, describeBudget, formatFromPath, groupSettings, isRunId, listRunStates, loadRunState, loadTaskListFile, planPhases, summarize, TaskListError, TaskListRefusedError, RunNotFoundError, RunNotResumableError, type TaskList, type TaskListEvent, type TaskListSummary, type TaskSpec } from "../../tasks/index.js";
import { connectOrStartDaemon, connectOrStartLocal, ServerStartingError } from "../connect.js";
import { detachDeadline, printDetached, printServerStarting } from "../detach.js";
import { cancelOnceStarted, onInterrupt } from "../interrupt.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatDuration, formatTime, info, printJson, style } from "../output.js";
import { parseCostOption, parsePositiveInt, parseTokensOption } from "../parse-options.js";
import { snakeKeys } from "../json-casing.js";
import { addEnvOptions, CARRIED_HELP, requestEnv, warnSettingDifferences, type EnvFlags } from "../caller-env.js";
import { isLiveTerminal, LiveLine } from "../live-line.js";
import { printSummary, summaryExitCode, taskProgress } from "../task-list-output.js";
import { loadProjectHooks } from "./hooks.js";
import { loadQueue, requireRedisUrl } from "./worker.js";

interface RunFlags extends EnvFlags {
  json?: boolean;
  report?: string;
  concurrency?: number;
  cwd?: string;
  quiet?: boolean;
  verbose?: boolean;
  url?: string;
  token?: string;
  local: boolean;
  queue?: boolean;
  queueName?: string;
  detach?: boolean;
  isolation?: "worktree" | "none";
  maxCost?: number;
  maxTokens?: number;
  resumeSession: boolean;
}

const CONNECTION_HELP = `
Without a running server (cc-executor server start) the list runs in-process.
${CARRIED_HELP}
Exit codes: 0 every task completed, 1 a task or merge failed (the list stopped), 2 invalid task
list or run id, 3 server not reachable (--no-local, --url), 5 the budget is spent (resume with a
larger --max-cost / --max-tokens), 75 stopped by a claude usage/rate limit or overload (resume
later), 127 claude not found, 130 interrupted (Ctrl-C, SIGTERM, SIGHUP): the running task is
stopped and the run can be resumed.
With --detach the run belongs to the server: the run id is printed (with --json a small object
with the wait and logs commands) and the command exits 0 (4: a server it started was still
starting, nothing was started: run it again); \`cc-executor wait <run-id>\` prints
the summary later (the same JSON, the same exit codes).`;

function addConnectionOptions(cmd: Command): Command {
  return addEnvOptions(cmd)
    .option("--json", "print the run's JSON summary on stdout (progress stays on stderr)")
    .option("--report <file>", "also write the report here (markdown; JSON when the name ends in .json)")
    .option("-c, --concurrency <n>", "most tasks of a parallel group running at once (default 4)", parsePositiveInt)
    .option("-q, --quiet", "no progress on stderr")
    .option("-v, --verbose", "show each claude task's tool calls and each direct task's output")
    .option("--url <url>", "server WebSocket URL (default ws://127.0.0.1:8003/ws/mcp)")
    .option("--token <token>", "auth token")
    .option("--no-local", "fail instead of running in-process when no server is running")
    .option("--detach", "start it as a run of the server (one is started in the background when none runs) and return at once with its run id; then: cc-executor wait <run-id>")
    .option("--queue", "distributed mode: run the list here, each task on a `cc-executor worker` taking it from the Redis queue (REDIS_URL)")
    .option("--queue-name <name>", "with --queue: queue name (default CC_EXECUTOR_QUEUE, else cc-executor)")
    .addOption(new Option("--isolation <mode>", "parallel groups' claude tasks: each in a git worktree of its own, or all in one tree (default: the list's, else worktree in a git repository)").choices(["worktree", "none"]))
    .option("--max-cost <usd>", "budget of the whole run in US dollars: no task starts once it is spent (resume: the new total)", parseCostOption)
    .option("--max-tokens <n>", "budget of the whole run in tokens (input + output + cache), e.g. 2000000 or 2M", parseTokensOption)
    .option("--no-resume-session", "retry and resume claude tasks afresh instead of continuing their Claude sessions");
}

export function registerTasks(program: Command): void {
  const tasks = program.command("tasks").description("run task lists: tasks in strict order, a fresh Claude process per task, results passed forward");

  addConnectionOptions(
    tasks
      .command("run")
      .description("run a task list (markdown, YAML or JSON file) with live progress and a final summary")
      .argument("<file>", "the task list: .md, .yaml/.yml or .json")
      .option("-C, --cwd <dir>", "working directory of the tasks (default: this directory)"),
  )
    .addHelpText("after", `${CONNECTION_HELP}

With --queue the list runs in this process and each task on a worker (cc-executor worker) that
takes it from the Redis queue at REDIS_URL: same order, progress, checkpoints and report.

Examples:
  cc-executor tasks run examples/basic/tasks.md
  cc-executor tasks run plan.yaml --report report.md --json
  REDIS_URL=redis://queue-host:6379 cc-executor tasks run plan.md --queue`)
    .action(async (file: string, flags: RunFlags) => {
      let text: string;
      let list: TaskList;
      try {
        list = loadTaskListFile(file); // clear errors (with line numbers) before anything starts
        text = readFileSync(list.source!, "utf8");
      } catch (err) {
        throw new CliError((err as Error).message, err instanceof TaskListError ? ExitCode.usage : ExitCode.failure);
      }
      if (flags.queue && flags.detach) throw new CliError("--detach and --queue do not go together: a queued list is run by this command", ExitCode.usage);
      if (flags.queue) {
        process.exitCode = await runListOnQueue({ list: { ...list, source: resolve(file) } }, flags);
        return;
      }
      const source = resolve(file);
      process.exitCode = await runList({ text, format: formatFromPath(file) ?? undefined, source }, flags, list.tasks);
    });

  addConnectionOptions(
    tasks
      .command("resume")
      .description("continue a stopped, failed or interrupted run: completed tasks are kept, the rest run in order")
      .argument("<run-id>", "the run to continue (see: cc-executor tasks list)"),
  )
    .addHelpText("after", CONNECTION_HELP)
    .action(async (runId: string, flags: RunFlags) => {
      assertRunId(runId);
      if (flags.queue && flags.detach) throw new CliError("--detach and --queue do not go together: a queued list is run by this command", ExitCode.usage);
      process.exitCode = flags.queue ? await runListOnQueue({ resumeRunId: runId }, flags) : await runList({ resume_run_id: runId }, flags);
    });

  tasks
    .command("list")
    .description("past and running task-list runs, newest first")
    .option("-n, --limit <n>", "show at most n runs", parsePositiveInt, 20)
    .option("--json", "print JSON")
    .action((flags: { limit: number; json?: boolean }) => {
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
    });

  tasks
    .command("show")
    .description("the summary of one run: every task's status, duration, tokens and cost")
    .argument("<run-id>")
    .option("--json", "print the JSON summary")
    .action((runId: string, flags: { json?: boolean }) => {
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
    });

  tasks
    .command("validate")
    .description("check a task list and show its plan (phases, methods, timeouts) without running it")
    .argument("<file>")
    .option("--json", "print the parsed list as JSON")
    .action((file: string, flags: { json?: boolean }) => {
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
    });
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

async function runDetached(request: TaskListRequest, flags: RunFlags): Promise<number> {
  const options = requestOptions(request, flags); // bad --env/--pass-env: exit 2 before anything starts
  let client;
  try {
    client = await connectOrStartDaemon({ url: flags.url, token: flags.token }, { quiet: flags.quiet, deadline: detachDeadline() });
  } catch (err) {
    if (err instanceof ServerStartingError) return printServerStarting(err, flags);
    throw err;
  }
  try {
    await warnSettingDifferences(client, "tasks");
    printDetached(await client.detachTaskList(request, options), "task-list", flags);
    return ExitCode.ok;
  } catch (err) {
    throw listError(err);
  } finally {
    await client.close();
  }
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
    if (!conn.local) await warnSettingDifferences(conn.client, "tasks", conn.url);
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
