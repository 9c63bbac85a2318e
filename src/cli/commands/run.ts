import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { addEnvOptions, CARRIED_HELP, carriedValue, requestEnv, warnSettingDifferences, type EnvFlags } from "../caller-env.js";
import { connectOrStartLocal } from "../connect.js";
import { onInterrupt } from "../interrupt.js";
import { CliError, ExitCode, exitCodeFor } from "../exit-codes.js";
import { formatDuration, info, printJson, style } from "../output.js";
import { parsePositiveNumber } from "../parse-options.js";
import { runResultJson } from "../json-casing.js";
import { onStdoutClosed, stdoutClosed } from "../stdout-closed.js";

interface RunFlags extends EnvFlags {
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
      process.exitCode = await runCommand(words.join(" "), flags);
    });
}

async function runCommand(command: string, flags: RunFlags): Promise<number> {
  const env = requestEnv(flags, { claude: false }); // bad --env/--pass-env: exit 2 before connecting
  const conn = await connectOrStartLocal({ url: flags.url, token: flags.token, local: flags.local }, flags.json || flags.quiet);
  const interrupt = onInterrupt("canceling the command…", () => conn.client.cancel());
  // `run … | head -2`: once the reader is gone, the command is canceled (nothing is left running).
  const pipe = onStdoutClosed(() => conn.client.cancel());
  try {
    if (!conn.local) await warnSettingDifferences(conn.client, "run", conn.url);
    const result = await conn.client.execute(command, {
      timeout: flags.timeout,
      inactivityTimeout: flags.inactivityTimeout ?? carriedValue("STREAM_TIMEOUT"),
      cwd: resolve(flags.cwd ?? process.cwd()),
      env,
      shell: flags.shell ?? carriedValue("CC_EXECUTOR_SHELL"),
      onOutput: flags.json ? undefined : ({ stream, data }) => void (stream === "stderr" ? process.stderr.write(data) : stdoutClosed() || process.stdout.write(data)),
    });
    const code = interrupt.interrupted ? ExitCode.interrupted : exitCodeFor(result);
    if (flags.json) {
      printJson(runResultJson(result, code));
    } else if (flags.quiet) {
      // the exit code says it
    } else if (result.status === "timeout") {
      info(style(`cc-executor: timed out after ${formatDuration(result.durationMs)}; the process group was killed`, "red"));
    } else if (stdoutClosed()) {
      // the reader of stdout is gone: the command was canceled on purpose, nothing to say
    } else if (result.status === "canceled") {
      info(style(`cc-executor: canceled after ${formatDuration(result.durationMs)}`, "yellow"));
    } else if (result.signal) {
      info(style(`cc-executor: killed by ${result.signal}`, "red"));
    }
    return code;
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.failure);
  } finally {
    interrupt.dispose();
    pipe.dispose();
    await conn.close();
  }
}
