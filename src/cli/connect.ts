import { randomBytes } from "node:crypto";
import { ExecutorClient } from "../client/index.js";
import { loadConfig, type Config } from "../config.js";
import type { RunningServer } from "../server/index.js";
import { readRuntimeRecord } from "../security/runtime-file.js";
import { localTarget } from "./server-target.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { info, style } from "./output.js";

export interface ConnectionFlags {
  url?: string;
  token?: string;
  /** Run an in-process server when none is reachable (default true). */
  local?: boolean;
}

export interface Connection {
  client: ExecutorClient;
  /** The server's URL (the in-process one's when `local`). */
  url: string;
  /** Set when the work runs in a server started by this command. */
  local?: RunningServer;
  /** The settings read here (environment and settings files) to find the server. */
  config: Config;
  close(): Promise<void>;
}

function isUnreachable(err: unknown): boolean {
  return /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET/.test((err as Error).message ?? "");
}

/** The configured server (environment and .env, as the server reads them): its URL and, with TLS, its certificate. */
function configuredTarget(flags: ConnectionFlags): { url: string; ca?: Buffer; config: Config } {
  const config = loadConfig();
  if (flags.url !== undefined) return { url: flags.url, config };
  const target = localTarget(config, readRuntimeRecord(config.home, config.port));
  return { url: target.ws, ca: target.ca, config };
}

/** Nothing answers where the user pointed (--url, or --no-local): exit 3 with the way forward. */
function unreachable(err: unknown, flags: ConnectionFlags): CliError {
  return new CliError(`${(err as Error).message}${flags.url === undefined ? " (start one with: cc-executor server start; without --no-local the work runs in-process)" : ""}`, ExitCode.unreachable);
}

/**
 * Connects to the running server; when none answers and `local` is allowed, starts one inside
 * this process on a free loopback port (same code path, real WebSocket) and says so on stderr.
 */
export async function connectOrStartLocal(flags: ConnectionFlags, quiet = false): Promise<Connection> {
  const { url, ca, config } = configuredTarget(flags);
  try {
    const client = await ExecutorClient.connect({ url, ca, token: flags.token ?? config.token, home: config.home });
    // the command has its result: nothing more to hear from the server, the process may end at once
    return { client, url, config, close: async () => client.closeNow() };
  } catch (err) {
    if (!isUnreachable(err)) throw err;
    if (flags.local === false || flags.url !== undefined) throw unreachable(err, flags);
  }
  if (!quiet) info(style(`no server at ${url}; running in-process (start one with: cc-executor server start)`, "dim"));
  // The server and its logger load only on this path: a client of a running server needs neither.
  const [{ createLogger }, { startServer }] = await Promise.all([import("../logger.js"), import("../server/index.js")]);
  const localConfig = loadConfig({ overrides: { host: "127.0.0.1", port: 0, token: randomBytes(24).toString("base64url"), auth: true } });
  const server = await startServer(localConfig, { logger: createLogger({ level: localConfig.logLevel === "info" ? "warn" : localConfig.logLevel }) });
  const client = await ExecutorClient.connect({ url: server.url, token: server.token });
  return {
    client,
    url: server.url,
    local: server,
    config,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

/** The server a detached start needs was still starting when the command's time was up; nothing was started. */
export class ServerStartingError extends Error {
  constructor(
    readonly pid: number,
    readonly log: string,
  ) {
    super(`the cc-executor server (pid ${pid}) is still starting; nothing was started yet: run the same command again (server log: ${log})`);
    this.name = "ServerStartingError";
  }
}

/**
 * Connects to the running server; when none answers (and no --url was given), starts one in the
 * background as `server start --daemon` would (or waits for one another command is starting) and
 * says so on stderr. For work the server must own beyond this process: detached runs. Throws
 * ServerStartingError when the server is not up by `deadline` (epoch ms): it goes on starting.
 */
export async function connectOrStartDaemon(flags: Omit<ConnectionFlags, "local">, options: { quiet?: boolean; deadline?: number } = {}): Promise<ExecutorClient> {
  const { url, ca, config } = configuredTarget(flags);
  try {
    return await ExecutorClient.connect({ url, ca, token: flags.token ?? config.token, home: config.home });
  } catch (err) {
    if (!isUnreachable(err)) throw err;
    if (flags.url !== undefined) throw unreachable(err, flags);
  }
  // the state directory's server on the configured port, once it runs (wss:// and its certificate with TLS)
  const daemon = () => {
    const target = localTarget(config, readRuntimeRecord(config.home, config.port));
    return ExecutorClient.connect({ url: target.ws, ca: target.ca, token: flags.token, home: config.home });
  };
  const { startDaemon } = await import("./daemon.js");
  let started;
  try {
    started = await startDaemon(config, { deadline: options.deadline });
  } catch (err) {
    // Another command may have started one at the same moment: use it if it answers now.
    try {
      return await daemon();
    } catch {
      throw err;
    }
  }
  if (!options.quiet && started.spawned) info(style(`no server was running at ${url}: started one in the background (pid ${started.pid}, log ${started.log}; stop it with: cc-executor server stop)`, "dim"));
  if (!started.ready) throw new ServerStartingError(started.pid, started.log);
  return daemon();
}
