import type { Readable, Writable } from "node:stream";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { loadConfig } from "../config.js";
import { openGroupRegistry } from "../doors/index.js";
import { silentLogger } from "../logger.js";
import { VERSION } from "../version.js";
import { createMcpServer, type CcExecutorMcpServer, type McpServerOptions } from "./server.js";

export interface StartMcpServerOptions extends McpServerOptions {
  /** Default: process.stdin / process.stdout. Nothing else may write to `stdout`. */
  stdin?: Readable;
  stdout?: Writable;
}

export interface RunningMcpServer extends CcExecutorMcpServer {
  /** Settles once the server has shut down: its input ended, its connection closed, or close() was called. */
  readonly closed: Promise<void>;
}

/**
 * Starts the MCP server on stdio. Kills process groups left behind by a crashed earlier run
 * first; shuts down (killing whatever its tool calls still run) when its input ends, its output
 * breaks or the connection closes.
 */
export async function startMcpServer(options: StartMcpServerOptions = {}): Promise<RunningMcpServer> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? silentLogger;
  const registry = options.registry ?? openGroupRegistry(config, logger);
  const reaped = await registry.reapLeftovers(config.killGraceMs);
  if (reaped.reaped.length + reaped.cgroups.length > 0) logger.warn({ groups: reaped.reaped, cgroups: reaped.cgroups }, `killed what a previous run left: ${reaped.reaped.length} process group(s), ${reaped.cgroups.length} cgroup(s)`);
  const mcp = createMcpServer({ ...options, config, logger, registry });
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= mcp.close().finally(() => {
      stdin.off("end", onEnd);
      stdout.off("error", onOutputError);
      resolveClosed();
    }));
  const onEnd = () => {
    logger.info("mcp: input ended; shutting down");
    void close();
  };
  const onOutputError = (err: Error) => {
    logger.warn({ err: err.message }, "mcp: cannot write to the client; shutting down");
    void close();
  };
  stdin.once("end", onEnd);
  stdout.on("error", onOutputError);

  const transport = new StdioServerTransport(stdin, stdout);
  await mcp.server.connect(transport);
  mcp.server.server.onclose = () => void close();
  logger.info({ version: VERSION, home: config.home }, "mcp: server ready on stdio");
  return {
    server: mcp.server,
    get active() {
      return mcp.active;
    },
    cancelAll: mcp.cancelAll,
    close,
    closed,
  };
}
