import type { Command } from "commander";

export interface LogsFlags {
  follow?: boolean;
  task?: string;
  raw?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description("the output of an execution, a claude task or a task-list run, finished or live (from its run folder)")
    .argument("<id>", "an execution id, a task-list run id (tl-…), or the first characters (4 or more) of one")
    .option("-f, --follow", "keep printing output as it comes, until the execution (or the whole run) ends")
    .option("--task <n|id>", "a task-list run: only this task (its number, from 1, or its id)")
    .option("--raw", "claude tasks: the stream-json transcript as claude wrote it, instead of readable text")
    .option("--json", "one JSON document: the record(s) and the output (not with --follow)")
    .option("-q, --quiet", "no status lines on stderr, only the output")
    .addHelpText(
      "after",
      `
Commands print their stdout and stderr interleaved, as they were read; claude tasks print a
readable form of their transcript (--raw: the stream-json). A task-list run prints its tasks in
order, each under a "==> [n/total] title <==" line. Status lines go to stderr.
Reads the run folders of the state directory (CC_EXECUTOR_HOME), so it works with or without a
running server. Exit codes: 0 printed, 2 unknown id or bad option, 1 unreadable run folder.

Examples:
  cc-executor history list                 # ids of recent executions
  cc-executor logs 3f9a1c2b                 # a finished command's output
  cc-executor logs -f tl-20261125-163829-3f9a1c          # a running task list, live
  cc-executor logs tl-20261125-163829-3f9a1c --task 3    # the third task only`,
    )
    .action(async (id: string, flags: LogsFlags) => (await import("../actions/logs.js")).logs(id, flags));
}
