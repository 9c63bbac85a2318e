import type { Command } from "commander";
import { onStdoutClosed } from "../stdout-closed.js";
import { loadConfig } from "../../config.js";
import { createLogger } from "../../logger.js";
import { startMcpServer } from "../../mcp/index.js";

/**
 * stdout belongs to the MCP protocol: anything else written there corrupts the stream. Logs go to
 * stderr (pino on fd 2); a stray console.log/info/debug anywhere in the process is sent there too.
 */
function keepStdoutForProtocol(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.trace = toStderr;
}

export function registerMcp(program: Command): void {
  program
    .command("mcp")
    .description("run an MCP server on stdio (for Claude Code and other MCP clients): tools cc_execute, run_task_list, execute_command, history")
    .addHelpText(
      "after",
      `
Every tool call blocks until its work has finished and runs in this process (no WebSocket server
needed). Canceling a call, or closing the connection, kills its process groups. Logs go to stderr.
Hooks (.cc-executor/hooks.json of the working directory, once trusted), the command policy, the history and
timeout estimates apply as in the server; with an invalid hooks file the server starts but refuses
every call that runs work, saying why, until the file is fixed.

Add it to Claude Code: \`cc-executor init --mcp\` prints the \`claude mcp add\` line and the
.mcp.json entry with a command that works from here (e.g. claude mcp add cc-executor --
/usr/local/bin/cc-executor mcp); \`cc-executor init --mcp --write\` writes the project's .mcp.json.

Tools and arguments: docs/mcp.md`,
    )
    .action(async () => {
      keepStdoutForProtocol();
      const config = loadConfig();
      const logger = createLogger({ level: config.logLevel });
      const running = await startMcpServer({ config, logger });
      const onSignal = (signal: NodeJS.Signals) => {
        logger.info({ signal }, "mcp: signal received; shutting down");
        void running.close();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      process.on("SIGHUP", onSignal);
      // The client went away mid-answer: shut down (killing running work) as when it closes stdin.
      const pipe = onStdoutClosed(() => running.close());
      process.on("uncaughtException", (err) => {
        logger.fatal({ err: err.stack ?? err.message }, "mcp: uncaught exception; killing running work and exiting");
        process.exitCode = 1;
        void running.close().finally(() => process.exit(1));
      });
      await running.closed;
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.off("SIGHUP", onSignal);
      pipe.dispose();
      // Let the last responses drain, then leave even if some handle (a paused stdin) lingers.
      await new Promise<void>((r) => process.stdout.write("", () => r()));
      setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
    });
}
