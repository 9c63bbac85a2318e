import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { Config } from "../config.js";
import { silentLogger, type Logger } from "../logger.js";
import { statePaths } from "../paths.js";
import { openGroupRegistry } from "../doors/registry.js";
import { HookConfigError, loadHooks } from "../hooks/index.js";
import { ErrorCodes, failure, WS_PATHS } from "../protocol/index.js";
import { HistoryRecorder, storeOptionsFrom, timeoutLimitsFrom, type Store } from "../store/index.js";
import { openStoreOrFallback } from "../store/fallback.js";
import { VERSION } from "../version.js";
import { ensureToken, hasLoopbackHost, isLoopbackHost, tokenFromRequest, tokensEqual } from "./auth.js";
import { ProcessSlots, type ServerContext } from "./context.js";
import { handleDashboardHttp } from "./dashboard-http.js";
import { monitorFor } from "./monitor.js";
import { buildMethods } from "./methods.js";
import { isOriginAllowed } from "./origin.js";
import { compilePolicy } from "../doors/policy.js";
import { Session, type MethodHandler } from "./session.js";

export interface RunningServer {
  /** ws://host:port/ws/mcp */
  readonly url: string;
  readonly httpUrl: string;
  readonly port: number;
  /** The token clients must present, or undefined when auth is off. */
  readonly token: string | undefined;
  readonly sessions: ReadonlySet<Session>;
  /** Cancels all work (killing every process group), closes connections and the listener. */
  close(): Promise<void>;
}

export interface StartServerOptions {
  logger?: Logger;
  /** Extra or replacement methods (later capabilities plug in here). */
  methods?: (ctx: ServerContext) => Map<string, MethodHandler>;
  /** History store (default: opened from the config: SQLite, or Redis with REDIS_URL); closed with the server. */
  store?: Store;
  /** Where .cc-executor/hooks.json is looked for first (default: the current directory). */
  projectDir?: string;
}

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

export const CAPABILITIES = ["execute", "control", "hook_status", "streaming", "pause_resume", "auth", "attach", "cc_execute", "run_task_list", "detach"];

const HEARTBEAT_MS = 30_000;

/**
 * HTTP limits against slow or stalled peers (slowloris): the request line and headers of a
 * request (and of every WebSocket upgrade) must arrive within `headersMs`, the whole request
 * within `requestMs`, checked every `checkIntervalMs`; late peers get 408 and are disconnected.
 * Node's defaults (60 s / 300 s, checked every 30 s) let stalled connections pile up for minutes.
 */
export const HTTP_TIMEOUTS = { headersMs: 10_000, requestMs: 30_000, checkIntervalMs: 1_000 };

export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? silentLogger;
  if (!config.auth && !isLoopbackHost(config.host)) {
    throw new StartupError(`refusing to listen on ${config.host} without authentication: --no-auth is only allowed on a loopback address (127.0.0.1, ::1, localhost)`);
  }
  const paths = statePaths(config.home);
  let token: string | undefined;
  try {
    token = config.auth ? ensureToken(paths.tokenFile, config.token) : undefined;
  } catch (err) {
    throw new StartupError(`cannot read or create the token file ${paths.tokenFile}: ${(err as Error).message}. Make the state directory (CC_EXECUTOR_HOME) writable, or set CC_EXECUTOR_TOKEN`);
  }
  const registry = openGroupRegistry(config, logger);
  const reaped = await registry.reapLeftovers(config.killGraceMs);
  if (reaped.reaped.length + reaped.cgroups.length > 0) logger.warn({ groups: reaped.reaped, cgroups: reaped.cgroups }, `killed what a previous run left: ${reaped.reaped.length} process group(s), ${reaped.cgroups.length} cgroup(s)`);
  const containment = registry.containment();
  logger.info({ containment }, containment.kind === "cgroup" ? "each execution runs in its own cgroup" : `executions are contained by process groups: ${containment.reason}`);

  let hooks;
  try {
    hooks = loadHooks({ cwd: options.projectDir ?? process.cwd(), home: config.home, logger, shell: config.shell, killGraceMs: config.killGraceMs, registry });
  } catch (err) {
    if (err instanceof HookConfigError) throw new StartupError(err.message);
    throw err;
  }
  const store = options.store ?? (await openStoreOrFallback(storeOptionsFrom(config, logger)));
  const history = new HistoryRecorder(store, timeoutLimitsFrom(config), logger);

  const startedAt = Date.now();
  const sessions = new Set<Session>();
  const closingSessions = new Set<Promise<void>>();
  const ctx: ServerContext = {
    config,
    logger,
    registry,
    slots: new ProcessSlots(config.maxProcesses),
    policy: policyOrThrow(config),
    resumable: new Map(),
    history,
    hooks,
    hookStatus: () => ({
      ...hooks.status(),
      // The UUID check of claude tasks is a built-in pre/post-claude pair: instruction in, verification out.
      builtin: [{ name: "uuid-check", events: ["pre-claude", "post-claude"], enabled: true, note: "turned off per task with uuid: false (--no-uuid)" }],
    }),
  };
  const methods = buildMethods(ctx);
  for (const [name, handler] of options.methods?.(ctx) ?? []) methods.set(name, handler);

  const health = async () => {
    const storeHealth = await store.health().catch((err: Error) => ({ backend: "unknown", status: "degraded" as const, detail: err.message }));
    return {
      status: storeHealth.status === "ok" ? "healthy" : "degraded",
      service: "cc-executor",
      version: VERSION,
      active_sessions: sessions.size,
      max_sessions: config.maxSessions,
      active_processes: ctx.slots.inUse,
      max_processes: config.maxProcesses,
      // What kills an execution's processes: its cgroup (also a setsid daemon) or its process group.
      containment: containment.kind === "cgroup" ? { kind: containment.kind, limits: containment.limits, limits_unavailable: containment.limits_unavailable } : containment,
      uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
      auth: config.auth,
      pid: process.pid,
      store: storeHealth,
    };
  };

  monitorFor(ctx).health = health;
  const http = createServer({ connectionsCheckingInterval: HTTP_TIMEOUTS.checkIntervalMs }, (req, res) => handleDashboardHttp(req, res, ctx, token) || handleHttp(req, res, health));
  http.headersTimeout = HTTP_TIMEOUTS.headersMs;
  http.requestTimeout = HTTP_TIMEOUTS.requestMs;
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageSize, perMessageDeflate: false });

  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (!(WS_PATHS as readonly string[]).includes(path)) return rejectUpgrade(socket, 404, `no WebSocket endpoint at ${path}; use /ws/mcp`);
    if (!isOriginAllowed(req, config.allowedOrigins)) {
      logger.warn({ origin: req.headers.origin }, "refused WebSocket upgrade from a foreign origin");
      return rejectUpgrade(socket, 403, "origin not allowed");
    }
    if (token === undefined && !hasLoopbackHost(req)) {
      // Without a token, a web page could reach a loopback server through DNS rebinding (its Origin
      // then matches the Host it made up), so only loopback Host names are accepted.
      logger.warn({ host: req.headers.host }, "refused WebSocket upgrade with a non-loopback Host while auth is off");
      return rejectUpgrade(socket, 403, "host not allowed: with --no-auth only loopback Host names (127.0.0.1, localhost, [::1]) are accepted");
    }
    if (token !== undefined && !tokensEqual(tokenFromRequest(req), token)) {
      logger.warn({ remote: req.socket.remoteAddress }, "refused WebSocket upgrade without a valid token");
      return rejectUpgrade(socket, 401, "missing or invalid token: send Authorization: Bearer <token> (the token is in the state directory's token file)");
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (sessions.size >= config.maxSessions) {
        ws.send(JSON.stringify(failure(null, ErrorCodes.sessionLimit, `Session limit reached: ${config.maxSessions} sessions are open (MAX_SESSIONS)`)));
        ws.close(1013, "session limit reached");
        return;
      }
      openSession(ws);
    });
  });

  function openSession(ws: WebSocket): void {
    const session = new Session(ws, methods, logger, config.maxClientQueueBytes);
    const log = logger.child({ session: session.id.slice(0, 8) });
    sessions.add(session);
    log.debug("session opened");
    let alive = true;
    ws.on("pong", () => (alive = true));
    ws.on("message", (data, isBinary) => {
      alive = true;
      if (isBinary) {
        session.send(failure(null, ErrorCodes.invalidRequest, "Invalid Request: binary frames are not supported; send JSON text"));
        return;
      }
      void session.handleText(data.toString("utf8"));
    });
    const heartbeat = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
      if (Date.now() - session.idleSince > config.sessionIdleTimeoutS * 1000) ws.close(1000, "idle timeout");
    }, Math.min(HEARTBEAT_MS, config.sessionIdleTimeoutS * 1000));
    heartbeat.unref();
    ws.on("error", (err) => log.debug({ err: err.message }, "socket error"));
    ws.on("close", () => {
      clearInterval(heartbeat);
      sessions.delete(session);
      // Tracked until its work is canceled and recorded, so that shutdown waits for it too.
      const closed = session.close().then(() => log.debug("session closed"));
      closingSessions.add(closed);
      void closed.finally(() => closingSessions.delete(closed));
    });
    session.sendConnected({ session_id: session.id, version: VERSION, capabilities: CAPABILITIES });
  }

  await new Promise<void>((resolve, reject) => {
    http.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "EADDRINUSE" ? new StartupError(`port ${config.port} on ${config.host} is already in use (is another cc-executor running? try: cc-executor server status)`) : err),
    );
    http.listen(config.port, config.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(":") ? `[${config.host}]` : config.host;
  logger.info({ host: config.host, port, auth: config.auth, home: config.home }, `cc-executor ${VERSION} listening on ws://${hostForUrl}:${port}/ws/mcp`);

  let closing: Promise<void> | undefined;
  return {
    url: `ws://${hostForUrl}:${port}/ws/mcp`,
    httpUrl: `http://${hostForUrl}:${port}`,
    port,
    token,
    sessions,
    close: () =>
      (closing ??= shutdown(http, wss, sessions, ctx, logger).finally(async () => {
        await Promise.allSettled([...closingSessions]);
        await history.flush();
        if (!options.store) await store.close().catch(() => undefined);
      })),
  };
}

function policyOrThrow(config: Config) {
  try {
    return compilePolicy(config.allowCommands, config.denyCommands);
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}

async function shutdown(http: HttpServer, wss: WebSocketServer, sessions: Set<Session>, ctx: ServerContext, logger: Logger): Promise<void> {
  logger.info({ sessions: sessions.size }, "shutting down: stopping all processes");
  // Resumable work survives its connection, not the server: cancel it first so sessions do not detach it.
  const resumable = [...ctx.resumable.values()];
  await Promise.all(resumable.map((w) => w.cancel().catch(() => undefined)));
  await Promise.all(resumable.map((w) => w.finished.catch(() => undefined)));
  await Promise.all([...sessions].map((s) => s.close()));
  for (const ws of wss.clients) ws.close(1001, "server shutting down");
  await new Promise<void>((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
  wss.close();
}

function handleHttp(req: IncomingMessage, res: ServerResponse, health: () => Promise<object>): void {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (req.method === "GET" && (path === "/health" || path === "/healthz")) {
    void health().then((body) => sendJson(res, 200, body));
    return;
  }
  sendJson(res, 404, { error: "not found", hint: "WebSocket endpoint: /ws/mcp; health: /health" });
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const reason = { 401: "Unauthorized", 403: "Forbidden", 404: "Not Found" }[status] ?? "Error";
  const body = JSON.stringify({ error: message });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
