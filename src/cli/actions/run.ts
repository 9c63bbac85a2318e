import { resolve } from "node:path";
import { carriedValue, requestEnv, warnSettingDifferences } from "../caller-env.js";
import type { RunFlags } from "../commands/run.js";
import { connectOrStartLocal } from "../connect.js";
import { onInterrupt } from "../interrupt.js";
import { CliError, ExitCode, exitCodeFor } from "../exit-codes.js";
import { formatDuration, info, printJson, style } from "../output.js";
import { runResultJson } from "../json-casing.js";
import { onStdoutClosed, stdoutClosed } from "../stdout-closed.js";

/** `cc-executor run`: one shell command through the server (or an in-process one), streamed; its exit code. */
export async function runCommand(command: string, flags: RunFlags): Promise<number> {
  const env = requestEnv(flags, { claude: false }); // bad --env/--pass-env: exit 2 before connecting
  const conn = await connectOrStartLocal({ url: flags.url, token: flags.token, local: flags.local }, flags.json || flags.quiet);
  const interrupt = onInterrupt("canceling the command…", () => conn.client.cancel());
  // `run … | head -2`: once the reader is gone, the command is canceled (nothing is left running).
  const pipe = onStdoutClosed(() => conn.client.cancel());
  try {
    if (!conn.local) await warnSettingDifferences(conn.client, "run", conn.url, conn.config);
    const result = await conn.client.execute(command, {
      timeout: flags.timeout,
      inactivityTimeout: flags.inactivityTimeout ?? carriedValue("STREAM_TIMEOUT", conn.config),
      cwd: resolve(flags.cwd ?? process.cwd()),
      env,
      shell: flags.shell ?? carriedValue("CC_EXECUTOR_SHELL", conn.config),
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
