import { loadConfig, type Config, type ConfigOverrides } from "../../config.js";
import { statePaths } from "../../paths.js";
import { processStartTime } from "../../process/index.js";
import { startDaemon } from "../daemon.js";
import { readLocalToken } from "../../server/auth.js";
import { readRuntimeRecord, removeStaleRecord, runtimeFile } from "../../security/runtime-file.js";
import { PEER_UID_SUPPORTED } from "../../security/peer-uid.js";
import type { ServerFlags } from "../commands/server.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatDuration, info, printJson, style } from "../output.js";
import { probeServer, recordedServer } from "../server-locate.js";
import { localTarget } from "../server-target.js";

function configFrom(flags: ServerFlags): Config {
  const overrides: ConfigOverrides = {};
  if (flags.host !== undefined) overrides.host = flags.host;
  if (flags.port !== undefined) overrides.port = flags.port;
  if (flags.auth === false) overrides.auth = false;
  if (flags.peerAuth === false) overrides.peerAuth = false;
  if (flags.tlsCert !== undefined) overrides.tlsCert = flags.tlsCert;
  if (flags.tlsKey !== undefined) overrides.tlsKey = flags.tlsKey;
  if (flags.allowPlaintext) overrides.allowPlaintext = true;
  if (flags.shell !== undefined) overrides.shell = flags.shell;
  if (flags.home !== undefined) overrides.home = flags.home;
  if (flags.logLevel !== undefined) overrides.logLevel = flags.logLevel;
  return loadConfig({ overrides });
}

/**
 * The dashboard link. The token rides in the #fragment, which browsers never send to the server;
 * it is printed only to a terminal (a log file or a pipe would keep it).
 */
function dashboardLine(httpUrl: string, token: string | undefined, tokenFile: string): string {
  if (!token) return `dashboard: ${httpUrl}/`;
  if (process.stderr.isTTY) return `dashboard: ${httpUrl}/#token=${encodeURIComponent(token)}`;
  return `dashboard: ${httpUrl}/ (paste the token from ${tokenFile}; the link with the token is printed only to a terminal)`;
}

function peerAuthLine(config: Config): string {
  if (!config.peerAuth) return "token-less local clients: refused (peer auth off)";
  if (!PEER_UID_SUPPORTED) return "token-less local clients: refused (peer auth needs /proc/net/tcp: Linux only)";
  return `token-less local clients: allowed for uid ${process.geteuid?.()} over loopback, never for browsers (CC_EXECUTOR_PEER_AUTH=false to refuse)`;
}

async function startForeground(config: Config): Promise<void> {
  // The server and its logger load only here: status and stop need neither.
  const [{ createLogger }, { startServer }] = await Promise.all([import("../../logger.js"), import("../../server/index.js")]);
  const logger = createLogger({ level: config.logLevel });
  const server = await startServer(config, { logger });
  info(`${style("cc-executor", "bold")} listening on ${style(server.url, "cyan")}`);
  if (server.token) {
    info(`auth: on; token: from ${server.tokenSource}`);
    info(peerAuthLine(config));
  } else info(style("auth: OFF (--no-auth, loopback only)", "yellow"));
  info(dashboardLine(server.httpUrl, server.token, statePaths(config.home).tokenFile));
  info(style(`stop with Ctrl-C or: cc-executor server stop --port ${server.port}`, "dim"));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    void server.close().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGHUP", () => stop("SIGHUP"));
}

async function startInBackground(config: Config, flags: ServerFlags): Promise<void> {
  const started = await startDaemon(config, { shell: flags.shell });
  if (!started.ready) throw new CliError(`the server (pid ${started.pid}) did not come up within 15 s; see ${started.log}`, ExitCode.failure);
  info(`cc-executor started in the background (pid ${started.pid}) on ${started.url}; log: ${started.log}`);
  const record = readRuntimeRecord(config.home, config.port);
  const token = record?.auth ? readLocalToken(config.home) : undefined;
  info(dashboardLine(localTarget(config, record).http, token, statePaths(config.home).tokenFile));
}

/** `cc-executor server status`: exit 3 when nothing answers, 1 when something else does. */
export async function serverStatus(flags: ServerFlags): Promise<void> {
  const config = configFrom(flags);
  const probe = await probeServer(config);
  const record = readRuntimeRecord(config.home, config.port);
  if (flags.json) {
    if (probe.state === "running") printJson({ ...probe.health, runtime_file: record ? runtimeFile(config.home, config.port) : null });
    else printJson({ status: probe.state === "foreign" ? "unverified" : "unreachable", url: probe.target.ws, ...(probe.state === "foreign" ? { detail: probe.detail } : {}) });
  } else if (probe.state === "running") {
    const h = probe.health;
    info(`${style("running", "green")}  cc-executor ${h.version}  pid ${h.pid}  ${probe.target.ws}`);
    info(`uptime ${formatDuration(h.uptime_seconds * 1000)}  sessions ${h.active_sessions}/${h.max_sessions}  processes ${String(h.active_processes ?? 0)}`);
  } else if (probe.state === "foreign") {
    info(`${style("not verified", "red")}  something answers on port ${config.port}, but it is not the server of ${config.home}: ${probe.detail}`);
  } else info(`${style("not running", "red")}  nothing answers at ${probe.target.http} (start it with: cc-executor server start --port ${config.port})`);
  if (probe.state !== "running") process.exitCode = probe.state === "foreign" ? ExitCode.failure : ExitCode.unreachable;
}

/** `cc-executor server stop`: only the process recorded for the port. */
export async function serverStop(flags: ServerFlags): Promise<void> {
  const config = configFrom(flags);
  const recorded = await recordedServer(config);
  const out = (json: object, text: string, code?: number) => {
    if (flags.json) printJson(json);
    else info(text);
    if (code !== undefined) process.exitCode = code;
  };
  if (recorded.state === "none" || recorded.state === "stale") {
    if (recorded.state === "stale") removeStaleRecord(config.home, config.port);
    const stale = recorded.state === "stale" ? ` (removed the stale runtime file of pid ${recorded.record.pid}: that process is gone or is another program now)` : "";
    const probe = await probeServer(config, 1000);
    const other = probe.state !== "not-running" ? `; something answers on port ${config.port}, but no server of ${config.home} is recorded for it, so it was not signalled` : "";
    return out({ stopped: false, port: config.port, reason: other ? "not ours" : "not running" }, `no server of ${config.home} is running on port ${config.port}${stale}${other}`, ExitCode.unreachable);
  }
  if (recorded.state === "unverified") {
    return out(
      { stopped: false, port: config.port, pid: recorded.record.pid, reason: "unverified" },
      `the server recorded for port ${config.port} (pid ${recorded.record.pid}) does not answer, and this system cannot confirm that pid ${recorded.record.pid} is still that server; not signalling it. Check it with ps and stop it yourself.`,
      ExitCode.failure,
    );
  }
  const { pid } = recorded.record;
  const startTime = processStartTime(pid);
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + config.killGraceMs + 10_000;
  const alive = () => {
    const now = processStartTime(pid);
    return now !== undefined && now === startTime;
  };
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const stopped = !alive();
  out({ stopped, pid, port: config.port }, stopped ? `stopped the server on port ${config.port} (pid ${pid})` : `the server on port ${config.port} (pid ${pid}) did not stop in time`, stopped ? undefined : ExitCode.failure);
}

/** `cc-executor server start`: in the foreground, or with --daemon in the background. */
export async function serverStart(flags: ServerFlags): Promise<void> {
  const config = configFrom(flags);
  if (flags.daemon) await startInBackground(config, flags);
  else await startForeground(config);
}
