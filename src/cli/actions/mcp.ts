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

/** `cc-executor mcp`: the MCP server on stdio until the client goes away or a signal stops it. */
export async function runMcp(): Promise<void> {
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
}
