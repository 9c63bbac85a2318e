/** MCP server (stdio): cc_execute, run_task_list, execute_command and history as MCP tools. */
export { createMcpServer, TOOL_NAMES } from "./server.js";
export type { CcExecutorMcpServer, McpServerOptions } from "./server.js";
export { startMcpServer } from "./stdio.js";
export type { RunningMcpServer, StartMcpServerOptions } from "./stdio.js";
export { COMMAND_OUTPUT_TAIL_BYTES } from "./tools/execute-command.js";
export { ProgressReporter, FractionalSteps, HEARTBEAT_MS } from "./progress.js";
