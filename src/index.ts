/** Public API of cc-executor. */
export { ExecutorClient, RpcClientError, ServerIdentityError, defaultServerUrl } from "./client/index.js";
export type { ConnectOptions, ExecuteOptions, ExecuteResult, ExecutorEvent } from "./client/index.js";
export { startServer } from "./server/index.js";
export type { RunningServer, StartServerOptions } from "./server/index.js";
export { loadConfig, ConfigError } from "./config.js";
export type { Config } from "./config.js";
export { startProcess, SupervisedProcess, SpawnError } from "./process/index.js";
export type { SpawnSpec, ProcessResult, OutputChunk } from "./process/index.js";
export * as protocol from "./protocol/index.js";
export { VERSION } from "./version.js";
export { ccExecute, startClaudeTask, ClaudeTask } from "./claude/index.js";
export type { ClaudeTaskOptions, ClaudeTaskResult, ClaudeTaskEvent } from "./claude/index.js";
export { runTaskList, startTaskList, resumeTaskList, TaskListRun, loadTaskListFile, parseTaskListText, listRunStates, TaskListError, LocalExecutor } from "./tasks/index.js";
export type { TaskList, TaskSpec, TaskOutcome, TaskListEvent, TaskListOptions, TaskListSummary, TaskExecutor, TaskRequest } from "./tasks/index.js";
export { startMcpServer, createMcpServer } from "./mcp/index.js";
export type { RunningMcpServer, StartMcpServerOptions, McpServerOptions, CcExecutorMcpServer } from "./mcp/index.js";
export { submitTaskList, resumeSubmittedTaskList, startWorker, queueStatus, QueueExecutor } from "./queue/index.js";
export type { SubmitOptions, SubmittedTaskList, StartWorkerOptions, RunningWorker, QueueStatus, QueueExecutorOptions } from "./queue/index.js";
