import { Option, type Command } from "commander";
import { addEnvOptions, CARRIED_HELP, type EnvFlags } from "../caller-env-options.js";
import { parsePositiveNumber } from "../parse-options.js";

export interface RunFlags extends EnvFlags {
  timeout?: number;
  inactivityTimeout?: number;
  cwd?: string;
  shell?: "zsh" | "bash" | "sh" | "default";
  json?: boolean;
  quiet?: boolean;
  url?: string;
  token?: string;
  local: boolean;
}

export function registerRun(program: Command): void {
  const cmd = program
    .command("run")
    .description("run a shell command through the server, streaming its output live; exits with the command's exit code")
    .argument("<command...>", "the command (one shell string, or words joined with spaces)")
    .option("-t, --timeout <seconds>", "kill the whole process group after this many seconds (exit code 124)", parsePositiveNumber)
    .option("--inactivity-timeout <seconds>", "kill it after this many seconds without output (default STREAM_TIMEOUT, 600)", parsePositiveNumber)
    .option("-C, --cwd <dir>", "working directory of the command (default: this directory)")
    .addOption(new Option("--shell <shell>", "the shell to run it with (default CC_EXECUTOR_SHELL)").choices(["zsh", "bash", "sh", "default"]))
    .option("--json", "print one JSON result object instead of streaming (snake_case: exit_code, duration_ms, execution_id, ...)")
    .option("-q, --quiet", "no status lines on stderr (the command's own stderr still streams)")
    .option("--url <url>", "server WebSocket URL (default ws://127.0.0.1:8003/ws/mcp)")
    .option("--token <token>", "auth token (default: CC_EXECUTOR_TOKEN or the state directory's token file)")
    .option("--no-local", "fail instead of running in-process when no server is running");
  addEnvOptions(cmd)
    .addHelpText(
      "after",
      `
Examples:
  cc-executor run "echo hello; echo oops >&2; exit 3"     # streams, exits 3
  cc-executor run --timeout 2 "sleep 30"                  # killed after 2 s, exits 124
  cc-executor run --json "ls -la"                         # one JSON object on stdout
  cc-executor run --pass-env VIRTUAL_ENV -e DEBUG=1 "python app.py"

${CARRIED_HELP}`,
    )
    .action(async (words: string[], flags: RunFlags) => {
      const { runCommand } = await import("../actions/run.js");
      process.exitCode = await runCommand(words.join(" "), flags);
    });
}
