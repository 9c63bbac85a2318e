import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import type { Config } from "../config.js";
import { statePaths } from "../paths.js";
import { processStartTime } from "../process/index.js";
import { CliError, ExitCode } from "./exit-codes.js";

/** Finding and starting the background server (`server start --daemon`, and detached runs when none is running). */

export function healthUrl(config: Config): string {
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host === "::" ? "::1" : config.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.port}/health`;
}

export interface Health {
  status: string;
  version: string;
  active_sessions: number;
  max_sessions: number;
  uptime_seconds: number;
  pid: number;
  [k: string]: unknown;
}

export async function fetchHealth(config: Config, timeoutMs = 2000): Promise<Health | undefined> {
  try {
    const res = await fetch(healthUrl(config), { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    return (await res.json()) as Health;
  } catch {
    return undefined;
  }
}

/** The pid in the pid file, if that process is still alive. */
export function livePid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    return Number.isInteger(pid) && pid > 1 && processStartTime(pid) !== undefined ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface DaemonStarted {
  pid: number;
  port: number;
  /** The server's log file. */
  log: string;
}

/**
 * Starts `cc-executor server start` in the background (its own session, stdio to the log file)
 * and returns once its /health answers with its pid. Throws a CliError when a server already
 * runs on the port or the new one does not come up.
 */
export async function startDaemon(config: Config, options: { shell?: string } = {}): Promise<DaemonStarted> {
  const paths = statePaths(config.home);
  const running = livePid(paths.pidFile);
  if (running && (await fetchHealth(config))) throw new CliError(`a server is already running (pid ${running}) on port ${config.port}`, ExitCode.failure);
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  const args = [process.argv[1]!, "server", "start", "--host", config.host, "--port", String(config.port), "--home", config.home, "--log-level", config.logLevel];
  if (!config.auth) args.push("--no-auth");
  if (options.shell) args.push("--shell", options.shell);
  const log = openSync(paths.serverLog, "a");
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", log, log], env: { ...process.env, NO_COLOR: "1", CC_EXECUTOR_DAEMON_CHILD: "1" } });
  closeSync(log);
  child.unref();
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const health = await fetchHealth(config, 500);
    if (health && health.pid === child.pid) return { pid: child.pid, port: config.port, log: paths.serverLog };
    if (child.exitCode !== null || processStartTime(child.pid!) === undefined) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CliError(`the server did not start; see ${paths.serverLog}`, ExitCode.failure);
}
