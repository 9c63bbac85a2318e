import type { IncomingMessage, Server as HttpServer } from "node:http";
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
import { newNonce, removeRuntimeRecord, writeRuntimeRecord } from "../security/runtime-file.js";
import { secureStateDir, StateDirError } from "../security/state-dir.js";
import { processStartTime, ProcessSlots } from "../process/index.js";
import { PEER_UID_SUPPORTED } from "../security/peer-uid.js";
import { ensureToken, isLoopbackHost } from "./auth.js";
import type { ServerContext } from "./context.js";
import { handleDashboardHttp } from "./dashboard-http.js";
import { Housekeeping } from "./housekeeping.js";
import { monitorFor } from "./monitor.js";
import { buildMethods } from "./methods.js";
import { handleServerHttp } from "./health-http.js";
import { checkBind, createListener, StartupError } from "./listen.js";
import { decideUpgrade } from "./upgrade-guard.js";
import { compilePolicy } from "../doors/policy.js";
import { Session, type MethodHandler } from "./session.js";

export interface RunningServer {
  /** ws://host:port/ws/mcp (wss:// with TLS) */
  readonly url: string;
  /** http://host:port (https:// with TLS) */
  readonly httpUrl: string;
  readonly port: number;
  /** The token clients must present, or undefined when auth is off. */
  readonly token: string | undefined;
  /** Where the token came from, for people: "the token file /home/u/.cc-executor/token", "CC_EXECUTOR_TOKEN in the environment". */
  readonly tokenSource: string | undefined;
  /** This launch's runtime file (<home>/servers/<port>.json), or undefined when it could not be written. */
  readonly runtimeFile: string | undefined;
  readonly tls: boolean;
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

export { StartupError };

export const CAPABILITIES = ["execute", "control", "hook_status", "streaming", "pause_resume", "auth", "attach", "cc_execute", "run_task_list", "detach", "settings"];

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
  checkBind(config);
  const paths = statePaths(config.home);
  try {
    const tightened = secureStateDir(config.home);
    if (tightened.length > 0) logger.warn({ changed: tightened }, "tightened the state directory's permissions (others could read it)");
  } catch (err) {
    if (err instanceof StateDirError) throw new StartupError(err.message);
    // Not fatal by itself: with CC_EXECUTOR_TOKEN set, a read-only state directory still serves.
    logger.warn({ err: (err as Error).message, home: config.home }, "cannot create or tighten the state directory");
  }
  let token: string | undefined;
  let tokenSource: string | undefined;
  try {
    if (config.auth) {
      const found = ensureToken(paths.tokenFile, config.token);
      token = found.token;
      tokenSource = describeTokenSource(config, paths.tokenFile, found.created);
    }
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
  const housekeeping = new Housekeeping(config, store, () => [...monitorFor(ctx).runningIds(), ...ctx.resumable.keys()], logger);
  const methods = buildMethods(ctx);
  for (const [name, handler] of options.methods?.(ctx) ?? []) methods.set(name, handler);

  const health = async () => {
    const storeHealth = await store.health().catch((err: Error) => ({ backend: "unknown", status: "degraded" as const, detail: err.message }));
    const storage = await housekeeping.usage().catch((err: Error) => ({ error: err.message }));
    return {
      status: storeHealth.status === "ok" ? "healthy" : "degraded",
      service: "cc-executor",
      version: VERSION,
      active_sessions: sessions.size,
      max_sessions: config.maxSessions,
      active_processes: ctx.slots.inUse,
      max_processes: config.maxProcesses,
      // What kills an execution's processes: its cgroup (also a setsid daemon) or its process group.
      containment: containment.kind === "cgroup" ? { kind: containment.kind, limits: containment.limits, limits_unavailable: containment.limits_unavailable, favordynmods: containment.favordynmods } : containment,
      uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
      auth: config.auth,
      peer_auth: config.peerAuth && PEER_UID_SUPPORTED,
      tls: config.tlsCert !== undefined,
      pid: process.pid,
      store: storeHealth,
      storage,
    };
  };

  monitorFor(ctx).health = health;
  const nonce = newNonce();
  let port = config.port;
  const { server: http, tls } = createListener(config, { connectionsCheckingInterval: HTTP_TIMEOUTS.checkIntervalMs }, (req, res) => {
    if (!handleDashboardHttp(req, res, ctx, token)) handleServerHttp(req, res, { token, nonce, port: () => port, health });
  });
  http.headersTimeout = HTTP_TIMEOUTS.headersMs;
  http.requestTimeout = HTTP_TIMEOUTS.requestMs;
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageSize, perMessageDeflate: false });

  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (!(WS_PATHS as readonly string[]).includes(path)) return rejectUpgrade(socket, 404, `no WebSocket endpoint at ${path}; use /ws/mcp`);
    const decision = decideUpgrade(req, config, token);
    if (!decision.allow) {
      logger.warn({ remote: req.socket.remoteAddress, origin: req.headers.origin, host: req.headers.host }, decision.log);
      return rejectUpgrade(socket, decision.status, decision.message);
    }
    if (decision.by === "peer-uid") logger.debug({ remote: req.socket.remotePort }, "token-less connection from a loopback socket of this server's own user (peer auth)");
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
      reject(err.code === "EADDRINUSE" ? new StartupError(`port ${config.port} on ${config.host} is already in use (is another cc-executor running? try: cc-executor server status --port ${config.port})`) : err),
    );
    http.listen(config.port, config.host, () => resolve());
  });
  port = (http.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `${tls ? "wss" : "ws"}://${hostForUrl}:${port}/ws/mcp`;
  let runtimeFile: string | undefined;
  try {
    runtimeFile = writeRuntimeRecord(config.home, {
      pid: process.pid,
      port,
      host: config.host,
      process_start: processStartTime(process.pid) ?? null,
      nonce,
      started_at: new Date(startedAt).toISOString(),
      version: VERSION,
      auth: config.auth,
      tls,
      url,
      ...(tls ? { tls_cert: config.tlsCert } : {}),
    });
  } catch (err) {
    // A read-only or full state directory must not stop a server that is already listening.
    logger.error({ err: (err as Error).message, home: config.home }, "cannot write the runtime file; `server stop` and `server status` will not find this server, and clients cannot check it");
  }
  logger.info({ host: config.host, port, auth: config.auth, tls, home: config.home }, `cc-executor ${VERSION} listening on ${url}`);
  if (!tls && !isLoopbackHost(config.host)) logger.warn({ host: config.host }, "listening on a non-loopback address without TLS (--allow-plaintext): the token and every command cross the network in clear text");

  housekeeping.start();
  let closing: Promise<void> | undefined;
  return {
    url,
    httpUrl: `${tls ? "https" : "http"}://${hostForUrl}:${port}`,
    port,
    token,
    tokenSource,
    runtimeFile,
    tls,
    sessions,
    close: () =>
      (closing ??= shutdown(http, wss, sessions, ctx, logger).finally(async () => {
        removeRuntimeRecord(config.home, port, nonce);
        await Promise.allSettled([...closingSessions]);
        await housekeeping.stop();
        await registry.close();
        await history.flush();
        if (!options.store) await store.close().catch(() => undefined);
      })),
  };
}

/** For people: where the token in use came from. */
function describeTokenSource(config: Config, tokenFile: string, created: boolean): string {
  if (config.token === undefined) return `the token file ${tokenFile}${created ? " (created now)" : ""}`;
  const source = config.sources.token ?? "";
  if (source.startsWith("environment")) return "CC_EXECUTOR_TOKEN in the environment";
  if (source.startsWith("flag")) return "the caller's configuration (not a file)";
  return `CC_EXECUTOR_TOKEN in ${source}`;
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

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const reason = { 401: "Unauthorized", 403: "Forbidden", 404: "Not Found" }[status] ?? "Error";
  const body = JSON.stringify({ error: message });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
