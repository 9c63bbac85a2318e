import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { loadConfig, type Config } from "../config.js";
import { openGroupRegistry } from "../doors/index.js";
import { silentLogger, type Logger } from "../logger.js";
import type { GroupRegistry } from "../process/index.js";
import type { Store } from "../store/index.js";
import { VERSION } from "../version.js";
import { ToolCalls } from "./tool-calls.js";
import { createToolContext } from "./tool-context.js";
import { ccExecuteTool } from "./tools/cc-execute.js";
import { executeCommandTool } from "./tools/execute-command.js";
import { historyTool } from "./tools/history.js";
import { runTaskListTool } from "./tools/run-task-list.js";

export const TOOL_NAMES = ["cc_execute", "run_task_list", "execute_command", "history"] as const;

export interface McpServerOptions {
  config?: Config;
  logger?: Logger;
  /** Directory that relative paths and the default cwd are resolved against (default: process.cwd()). */
  cwd?: string;
  /** Process-group records for reaping after a crash (default: one in the state directory). */
  registry?: GroupRegistry;
  /** History store (default: opened from the config on first use: SQLite, or Redis with REDIS_URL, and closed with the server). */
  store?: Store;
}

export interface CcExecutorMcpServer {
  readonly server: McpServer;
  /** Tool calls running now. */
  readonly active: number;
  /** Cancels every running tool call (their process groups are killed) and waits until they have answered. */
  cancelAll(): Promise<void>;
  /** Refuses new calls, cancelAll() (calls still starting included), then closes the MCP connection, the registry and the store. */
  close(): Promise<void>;
}

const INSTRUCTIONS = `cc-executor runs work as supervised subprocesses and blocks until it is done.
- cc_execute: one Claude Code task in a fresh \`claude -p\` process (verified with an execution UUID); returns its JSON result.
- run_task_list: a task list (file, inline tasks, or text) in strict order, one fresh process per task, each task given the results of the earlier ones; returns the run summary.
- execute_command: one shell command; returns exit code, status and output tails.
- history: recent executions.
Every call blocks until the work has finished; canceling the call kills the work. The project's hooks (.cc-executor/hooks.json, once the user trusted it) and command policy apply, and every execution is recorded in the history.`;

/** The MCP server with its tools, not yet connected to a transport. */
export function createMcpServer(options: McpServerOptions = {}): CcExecutorMcpServer {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? silentLogger;
  const registry = options.registry ?? openGroupRegistry(config, logger);
  const ctx = createToolContext({ config, logger, registry, baseDir: options.cwd ?? process.cwd(), store: options.store });
  const calls = new ToolCalls(ctx.slots, logger);
  const server = new McpServer({ name: "cc-executor", version: VERSION }, { instructions: INSTRUCTIONS });
  calls.register(server, ccExecuteTool(ctx));
  calls.register(server, runTaskListTool(ctx));
  calls.register(server, executeCommandTool(ctx));
  calls.register(server, historyTool(ctx));

  // Each cancel ends within the kill grace (SIGTERM, grace, SIGKILL); the bound keeps shutdown finite.
  const cancelAll = () => calls.cancelAll(config.killGraceMs + 10_000);
  let closed: Promise<void> | undefined;
  return {
    server,
    get active() {
      return calls.active;
    },
    cancelAll,
    close: () =>
      (closed ??= (async () => {
        calls.shutDown();
        if (calls.active > 0) logger.info({ calls: calls.active }, "mcp: canceling running tool calls");
        await cancelAll();
        // The calls have returned their answers; the SDK sends each a few microtasks later. One
        // turn of the event loop lets it, so that a canceled call is answered before the connection closes.
        await new Promise((r) => setImmediate(r));
        await server.close().catch(() => undefined);
        await registry.close();
        await ctx.history.close();
      })()),
  };
}
