import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import type { Config } from "../config.js";
import { statePaths } from "../paths.js";
import { processStartTime } from "../process/index.js";
import { readRuntimeRecord } from "../security/runtime-file.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { recordedServer } from "./server-locate.js";

/** Starting the background server (`server start --daemon`, and detached runs when none is running). */

export interface DaemonStarted {
  pid: number;
  port: number;
  /** The WebSocket URL it serves (wss:// with TLS). */
  url: string;
  /** The server's log file. */
  log: string;
}

/**
 * Starts `cc-executor server start` in the background (its own session, stdio to the log file)
 * and returns once it has written its runtime file for the port. Throws a CliError when a server
 * of this state directory already runs on the port or the new one does not come up.
 */
export async function startDaemon(config: Config, options: { shell?: string } = {}): Promise<DaemonStarted> {
  const paths = statePaths(config.home);
  const recorded = await recordedServer(config);
  if (recorded.state === "alive" || recorded.state === "unverified") {
    const { pid, started_at } = recorded.record;
    throw new CliError(`a server of ${config.home} is already running on port ${config.port} (pid ${pid}, started ${started_at}); stop it first (cc-executor server stop --port ${config.port}) or choose another port`, ExitCode.failure);
  }
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  const args = [process.argv[1]!, "server", "start", "--host", config.host, "--port", String(config.port), "--home", config.home, "--log-level", config.logLevel];
  if (!config.auth) args.push("--no-auth");
  if (!config.peerAuth) args.push("--no-peer-auth");
  if (config.tlsCert && config.tlsKey) args.push("--tls-cert", config.tlsCert, "--tls-key", config.tlsKey);
  if (config.allowPlaintext) args.push("--allow-plaintext");
  if (options.shell) args.push("--shell", options.shell);
  const log = openSync(paths.serverLog, "a", 0o600);
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", log, log], env: { ...process.env, NO_COLOR: "1" } });
  closeSync(log);
  child.unref();
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const record = readRuntimeRecord(config.home, config.port);
    if (record && record.pid === child.pid) return { pid: child.pid, port: config.port, url: record.url, log: paths.serverLog };
    if (child.exitCode !== null || processStartTime(child.pid!) === undefined) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CliError(`the server did not start; see ${paths.serverLog}`, ExitCode.failure);
}
