export { ExecutorClient, RpcClientError, defaultServerUrl } from "./executor-client.js";
export type { ConnectOptions, ExecuteOptions, ExecuteResult, ExecutorEvent } from "./executor-client.js";
