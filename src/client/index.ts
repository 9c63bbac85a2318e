export { ExecutorClient, RpcClientError, defaultServerUrl } from "./executor-client.js";
export type { ConnectOptions, DetachedRun, ExecuteOptions, ExecuteResult, ExecutorEvent, ClaudeRequestOptions, ReconnectOptions, TaskListRequest, TaskListRequestOptions } from "./executor-client.js";
export { ServerIdentityError } from "../security/verify-server.js";
export type { ServerSettings, ClaudeBinaryReport } from "../server/settings-method.js";
