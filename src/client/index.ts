export { ExecutorClient, RpcClientError, defaultServerUrl } from "./executor-client.js";
export type { ConnectOptions, ExecuteOptions, ExecuteResult, ExecutorEvent, ClaudeRequestOptions, ReconnectOptions } from "./executor-client.js";
