import { Command } from "commander";
import { VERSION } from "../version.js";
import { registerClaude } from "./commands/claude.js";
import { registerCleanup } from "./commands/cleanup.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerTest } from "./commands/test.js";
import { registerInit } from "./commands/init.js";
import { registerCompletion } from "./commands/completion.js";
import { registerLogs } from "./commands/logs.js";
import { registerMcp } from "./commands/mcp.js";
import { registerRun } from "./commands/run.js";
import { registerServer } from "./commands/server.js";
import { registerTasks } from "./commands/tasks.js";
import { registerHistory } from "./commands/history.js";
import { registerHooks } from "./commands/hooks.js";
import { registerQueue } from "./commands/queue.js";
import { registerWorker } from "./commands/worker.js";
import { registerWait } from "./commands/wait.js";

/** Each top-level command and the function that declares it (with its subcommands), in the order of --help. */
const COMMANDS: ReadonlyArray<readonly [string, (program: Command) => void]> = [
  ["server", registerServer],
  ["run", registerRun],
  ["claude", registerClaude],
  ["tasks", registerTasks],
  ["wait", registerWait],
  ["history", registerHistory],
  ["logs", registerLogs],
  ["hooks", registerHooks],
  ["worker", registerWorker],
  ["queue", registerQueue],
  ["doctor", registerDoctor],
  ["cleanup", registerCleanup],
  ["test", registerTest],
  ["init", registerInit],
  ["mcp", registerMcp],
  ["completion", registerCompletion],
];

/**
 * The `cc-executor` command tree. Each command group declares its names, options and help in
 * commands/ and loads its implementation (actions/) with import() when it runs: building the
 * whole tree (for --help and completion) loads commander and little else, and a command loads
 * only what it uses. test/cli/startup-imports.test.ts keeps it that way.
 *
 * `only`: a command line that names a top-level command (`cc-executor run ...`) needs only that
 * command's declarations; the others are left out (their options and help cost every command's
 * start-up). Any other first word (--help, help, a typo that gets a suggestion) gets the whole tree.
 */
export function buildProgram(only?: string): Command {
  const program = new Command("cc-executor")
    .description("run shell commands and headless Claude Code tasks as supervised, streamed, strictly ordered tasks")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({ outputError: (str, write) => write(str) })
    // Throw instead of exiting so that main.ts maps errors to our exit codes; inherited by subcommands.
    .exitOverride()
    // A bad setting (CC_EXECUTOR_PORT=abc, in the environment or .env) is the same clear exit-2 error
    // for every command, before it does anything.
    .hook("preAction", async () => void (await import("../config.js")).loadConfig());
  const named = COMMANDS.find(([name]) => name === only);
  for (const [, register] of named ? [named] : COMMANDS) register(program);
  return program;
}
