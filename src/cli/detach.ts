import { dirname } from "node:path";
import type { DetachedRun, ExecutorClient } from "../client/index.js";
import { loadConfig } from "../config.js";
import { statePaths } from "../paths.js";
import { callerBudgetS, deadlineAfter } from "./budget.js";
import { warnSettingDifferences } from "./caller-env.js";
import { connectOrStartDaemon, ServerStartingError } from "./connect.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { info, printJson, style, warn } from "./output.js";

/** What `claude --detach` and `tasks run --detach` print: the run's id and how to follow it. */
export interface DetachedOutput {
  id: string;
  kind: "claude" | "task-list";
  status: "running";
  wait_command: string;
  logs_command: string;
  run_dir: string;
}

export function detachedOutput(run: DetachedRun, kind: DetachedOutput["kind"]): DetachedOutput {
  const id = run.run_id ?? run.execution_id;
  return { id, kind, status: "running", wait_command: `cc-executor wait ${id} --json`, logs_command: `cc-executor logs ${id}`, run_dir: run.run_dir };
}

/**
 * Prints a detached start: the id alone on stdout (for `id=$(…)`), or the JSON object with --json;
 * how to wait on stderr. `wait` and `logs` read the run folder in this CLI's state directory, so a
 * server keeping its runs elsewhere is pointed out.
 */
export function printDetached(run: DetachedRun, kind: DetachedOutput["kind"], flags: { json?: boolean; quiet?: boolean }): void {
  const out = detachedOutput(run, kind);
  if (flags.json) printJson(out);
  else process.stdout.write(`${out.id}\n`);
  const home = loadConfig().home;
  if (dirname(out.run_dir) !== statePaths(home).runsDir) {
    const serverHome = dirname(dirname(out.run_dir));
    warn(`the server keeps its runs in ${serverHome}, not in ${home}: run wait and logs with CC_EXECUTOR_HOME=${serverHome}`);
  }
  if (!flags.quiet) info(style(`started ${kind === "claude" ? "claude task" : "task list"} ${out.id} in the background; wait for it: ${out.wait_command.replace(/ --json$/, "")} · output: ${out.logs_command}`, "dim"));
}

/** Where a detached start's server must be up by: half of the caller's Bash timeout when known (see budget.ts), else 60 s. */
export function detachDeadline(): number {
  return deadlineAfter(callerBudgetS() ?? 60);
}

/**
 * The answer when the server was still starting: nothing was started, so running the same
 * command again is safe (and then fast). Exit 4, as `wait` for "not yet".
 */
export function printServerStarting(err: ServerStartingError, flags: { json?: boolean }): number {
  if (flags.json) printJson({ status: "starting", started: false, server_pid: err.pid, message: err.message });
  info(style(err.message, "yellow"));
  return ExitCode.notYet;
}

/**
 * `claude --detach` and `tasks run|resume --detach`: starts the work on the server (starting one
 * in the background when none runs), prints its id and how to follow it. Exit 0, or 4 when the
 * server was still starting and nothing was started. `asCliError` says how a refusal exits.
 */
export async function startDetached(
  flags: { url?: string; token?: string; quiet?: boolean; json?: boolean },
  what: { kind: DetachedOutput["kind"]; command: "claude" | "tasks" },
  start: (client: ExecutorClient) => Promise<DetachedRun>,
  asCliError: (err: unknown) => CliError = (err) => new CliError((err as Error).message, ExitCode.failure),
): Promise<number> {
  let client: ExecutorClient;
  try {
    client = await connectOrStartDaemon({ url: flags.url, token: flags.token }, { quiet: flags.quiet, deadline: detachDeadline() });
  } catch (err) {
    if (err instanceof ServerStartingError) return printServerStarting(err, flags);
    throw err;
  }
  try {
    await warnSettingDifferences(client, what.command);
    printDetached(await start(client), what.kind, flags);
    return ExitCode.ok;
  } catch (err) {
    throw asCliError(err);
  } finally {
    await client.close();
  }
}
