import { InvalidArgumentError, type Command } from "commander";

/** Without --max-wait and without BASH_DEFAULT_TIMEOUT_MS: well under the Bash tool's 2-minute default. */
export const DEFAULT_MAX_WAIT_S = 60;

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number of seconds (0 or more), got "${value}"`);
  return n;
}

export interface WaitFlags {
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
      const { waitCommand } = await import("../actions/wait.js");
      process.exitCode = await waitCommand(id, flags);
    });
}
