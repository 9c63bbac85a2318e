/** MCP server (stdio): cc_execute, run_task_list, execute_command and history as MCP tools. */
export { createMcpServer, startMcpServer, COMMAND_OUTPUT_TAIL_BYTES, HEARTBEAT_MS, TOOL_NAMES } from "./server.js";
export type { CcExecutorMcpServer, McpServerOptions, RunningMcpServer, StartMcpServerOptions } from "./server.js";
export { ProgressReporter, FractionalSteps } from "./progress.js";
