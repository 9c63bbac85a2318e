import { Option, type Command } from "commander";
import { addEnvOptions, CARRIED_HELP, type EnvFlags } from "../caller-env-options.js";
import { parseCostOption, parsePositiveInt, parseTokensOption } from "../parse-options.js";

export interface RunFlags extends EnvFlags {
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
      const { tasksRun } = await import("../actions/tasks.js");
      process.exitCode = await tasksRun(file, flags);
    });

  addConnectionOptions(
    tasks
      .command("resume")
      .description("continue a stopped, failed or interrupted run: completed tasks are kept, the rest run in order")
      .argument("<run-id>", "the run to continue (see: cc-executor tasks list)"),
  )
    .addHelpText("after", CONNECTION_HELP)
    .action(async (runId: string, flags: RunFlags) => {
      const { tasksResume } = await import("../actions/tasks.js");
      process.exitCode = await tasksResume(runId, flags);
    });

  tasks
    .command("list")
    .description("past and running task-list runs, newest first")
    .option("-n, --limit <n>", "show at most n runs", parsePositiveInt, 20)
    .option("--json", "print JSON")
    .action(async (flags: { limit: number; json?: boolean }) => (await import("../actions/tasks.js")).tasksList(flags));

  tasks
    .command("show")
    .description("the summary of one run: every task's status, duration, tokens and cost")
    .argument("<run-id>")
    .option("--json", "print the JSON summary")
    .action(async (runId: string, flags: { json?: boolean }) => (await import("../actions/tasks.js")).tasksShow(runId, flags));

  tasks
    .command("validate")
    .description("check a task list and show its plan (phases, methods, timeouts) without running it")
    .argument("<file>")
    .option("--json", "print the parsed list as JSON")
    .action(async (file: string, flags: { json?: boolean }) => (await import("../actions/tasks.js")).tasksValidate(file, flags));
}
