export { startServer, StartupError, CAPABILITIES } from "./server.js";
export type { RunningServer, StartServerOptions } from "./server.js";
export { Session } from "./session.js";
export type { ActiveWork, MethodHandler } from "./session.js";
export type { ServerContext } from "./context.js";
export { ensureToken, readLocalToken, isLoopbackHost } from "./auth.js";
