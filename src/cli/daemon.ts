import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.js";
import { statePaths } from "../paths.js";
import { processStartTime } from "../process/index.js";
import { readRuntimeRecord, runtimeDir } from "../security/runtime-file.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { recordedServer } from "./server-locate.js";
import { withServerMallocTuning } from "../process/malloc-tuning.js";

/** Starting the background server (`server start --daemon`, and detached runs when none is running). */

export interface DaemonStarted {
  pid: number;
  port: number;
  /** The WebSocket URL it serves (wss:// with TLS); unknown while it is still starting. */
  url?: string;
  /** The server's log file. */
  log: string;
  /** False when the deadline passed while the server was still starting (it goes on starting). */
  ready: boolean;
  /** False when a server another command had started was still starting and this call waited for it. */
  spawned: boolean;
}

/**
 * `<home>/servers/<port>.starting`: the pid of a server spawned in the background that has not
 * written its runtime file yet, so that a second caller waits for it instead of starting another.
 */
function startingFile(home: string, port: number): string {
  return join(runtimeDir(home), `${port}.starting`);
}

/** The server still coming up on this port: alive, and started as `server start`. */
function startingServer(home: string, port: number): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(startingFile(home, port), "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || processStartTime(pid) === undefined) return undefined;
  try {
    return /\bserver\0start\b/.test(readFileSync(`/proc/${pid}/cmdline`, "latin1")) ? pid : undefined;
  } catch {
    return pid; // no /proc (macOS): a live process in the marker is taken to be that server
  }
}

/**
 * Starts `cc-executor server start` in the background (its own session, stdio to the log file),
 * or finds one another command started that is still coming up, and waits until it has written
 * its runtime file for the port, or until `deadline` (epoch ms, default 15 s from now): then
 * `ready` is false and the server goes on starting. Throws a CliError when a server of this state
 * directory already runs on the port, or the new one exits.
 */
export async function startDaemon(config: Config, options: { shell?: string; deadline?: number } = {}): Promise<DaemonStarted> {
  const paths = statePaths(config.home);
  const recorded = await recordedServer(config);
  if (recorded.state === "alive" || recorded.state === "unverified") {
    const { pid, started_at } = recorded.record;
    throw new CliError(`a server of ${config.home} is already running on port ${config.port} (pid ${pid}, started ${started_at}); stop it first (cc-executor server stop --port ${config.port}) or choose another port`, ExitCode.failure);
  }
  const deadline = options.deadline ?? Date.now() + 15_000;
  const marker = startingFile(config.home, config.port);
  let pid = startingServer(config.home, config.port);
  const spawned = pid === undefined;
  if (pid === undefined) {
    mkdirSync(paths.home, { recursive: true, mode: 0o700 });
    const args = [process.argv[1]!, "server", "start", "--host", config.host, "--port", String(config.port), "--home", config.home, "--log-level", config.logLevel];
    if (!config.auth) args.push("--no-auth");
    if (!config.peerAuth) args.push("--no-peer-auth");
    if (config.tlsCert && config.tlsKey) args.push("--tls-cert", config.tlsCert, "--tls-key", config.tlsKey);
    if (config.allowPlaintext) args.push("--allow-plaintext");
    if (options.shell) args.push("--shell", options.shell);
    const log = openSync(paths.serverLog, "a", 0o600);
    const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", log, log], env: withServerMallocTuning({ ...process.env, NO_COLOR: "1" }) });
    closeSync(log);
    child.unref();
    pid = child.pid!;
    try {
      mkdirSync(runtimeDir(config.home), { recursive: true, mode: 0o700 });
      writeFileSync(marker, `${pid}\n`, { mode: 0o600 });
    } catch {
      // without the marker a second caller may start a second server, which then fails on the port
    }
  }
  for (;;) {
    const record = readRuntimeRecord(config.home, config.port);
    if (record && record.pid === pid) {
      rmSync(marker, { force: true });
      return { pid, port: config.port, url: record.url, log: paths.serverLog, ready: true, spawned };
    }
    if (processStartTime(pid) === undefined) {
      rmSync(marker, { force: true });
      throw new CliError(`the server did not start; see ${paths.serverLog}`, ExitCode.failure);
    }
    if (Date.now() >= deadline) return { pid, port: config.port, log: paths.serverLog, ready: false, spawned };
    await new Promise((r) => setTimeout(r, 100));
  }
}
