import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { loadConfig, type Config, type ConfigOverrides } from "../../config.js";
import { createLogger } from "../../logger.js";
import { statePaths } from "../../paths.js";
import { processStartTime } from "../../process/index.js";
import { startServer } from "../../server/index.js";
import { ExitCode } from "../exit-codes.js";
import { formatDuration, info, printJson, style } from "../output.js";
import { parsePort } from "../parse-options.js";
import { fetchHealth, healthUrl, livePid, startDaemon } from "../daemon.js";

interface ServerFlags {
  host?: string;
  port?: number;
  auth?: boolean;
  shell?: string;
  home?: string;
  logLevel?: string;
  daemon?: boolean;
  json?: boolean;
}

function configFrom(flags: ServerFlags): Config {
  const overrides: ConfigOverrides = {};
  if (flags.host !== undefined) overrides.host = flags.host;
  if (flags.port !== undefined) overrides.port = flags.port;
  if (flags.auth === false) overrides.auth = false;
  if (flags.shell !== undefined) overrides.shell = flags.shell;
  if (flags.home !== undefined) overrides.home = flags.home;
  if (flags.logLevel !== undefined) overrides.logLevel = flags.logLevel;
  return loadConfig({ overrides });
}

/** The dashboard link; the token rides in the #fragment, which browsers never send to the server. */
function dashboardUrl(config: Config, port: number, token: string | undefined): string {
  const base = healthUrl({ ...config, port }).replace(/\/health$/, "/");
  return token ? `${base}#token=${encodeURIComponent(token)}` : base;
}

async function startForeground(config: Config): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  const paths = statePaths(config.home);
  const server = await startServer(config, { logger });
  try {
    mkdirSync(paths.home, { recursive: true, mode: 0o700 });
    writeFileSync(paths.pidFile, `${process.pid}\n`);
  } catch (err) {
    // A read-only or full state directory must not stop a server that is already listening.
    logger.error({ err: (err as Error).message, path: paths.pidFile }, "cannot write the pid file; `server stop` will find this server through /health instead");
  }
  info(`${style("cc-executor", "bold")} listening on ${style(server.url, "cyan")}`);
  info(server.token ? `auth: token in ${paths.tokenFile} (clients and the CLI read it from there)` : style("auth: OFF (--no-auth, loopback only)", "yellow"));
  // The token goes to this terminal only: a daemon's stderr is its log file, so it prints the link without it.
  info(`dashboard: ${dashboardUrl(config, server.port, process.env.CC_EXECUTOR_DAEMON_CHILD === "1" ? undefined : server.token)}`);
  info(style("stop with Ctrl-C or: cc-executor server stop", "dim"));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    void server.close().then(() => {
      try {
        if (readFileSync(paths.pidFile, "utf8").trim() === String(process.pid)) unlinkSync(paths.pidFile);
      } catch {
        // already removed
      }
      process.exit(0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGHUP", () => stop("SIGHUP"));
}

async function startInBackground(config: Config, flags: ServerFlags): Promise<void> {
  const started = await startDaemon(config, { shell: flags.shell });
  info(`cc-executor started in the background (pid ${started.pid}) on port ${started.port}; log: ${started.log}`);
  info(`dashboard: ${dashboardUrl(config, config.port, config.auth ? (config.token ?? readFileSync(statePaths(config.home).tokenFile, "utf8").trim()) : undefined)}`);
}

export function registerServer(program: Command): void {
  const server = program.command("server").description("start, stop and inspect the cc-executor server");
  const common = (cmd: Command) =>
    cmd
      .option("--host <host>", "address to bind / reach (default CC_EXECUTOR_HOST or 127.0.0.1)")
      .option("-p, --port <port>", "port (default CC_EXECUTOR_PORT or 8003)", parsePort)
      .option("--home <dir>", "state directory (default CC_EXECUTOR_HOME or ~/.cc-executor)");

  common(server.command("start"))
    .description("start the server (foreground by default)")
    .option("-d, --daemon", "run in the background, write a pid file and return")
    .option("--no-auth", "accept connections without a token (loopback addresses only)")
    .option("--shell <shell>", "shell for commands: zsh | bash | sh | default")
    .option("--log-level <level>", "fatal | error | warn | info | debug | trace | silent")
    .action(async (flags: ServerFlags) => {
      const config = configFrom(flags);
      if (flags.daemon) await startInBackground(config, flags);
      else await startForeground(config);
    });

  common(server.command("status"))
    .description("is the server reachable? version, uptime, sessions (exit 3 when not reachable)")
    .option("--json", "print the health document as JSON")
    .action(async (flags: ServerFlags) => {
      const config = configFrom(flags);
      const health = await fetchHealth(config);
      if (flags.json) printJson(health ?? { status: "unreachable", url: healthUrl(config) });
      else if (health) {
        info(`${style("running", "green")}  cc-executor ${health.version}  pid ${health.pid}  ${healthUrl(config).replace("/health", "")}`);
        info(`uptime ${formatDuration(health.uptime_seconds * 1000)}  sessions ${health.active_sessions}/${health.max_sessions}  processes ${String(health.active_processes ?? 0)}`);
      } else info(`${style("not running", "red")}  nothing answers at ${healthUrl(config)} (start it with: cc-executor server start)`);
      if (!health) process.exitCode = ExitCode.unreachable;
    });

  common(server.command("stop"))
    .description("stop the server (SIGTERM: it kills every running process group first)")
    .option("--json", "print the outcome as JSON")
    .action(async (flags: ServerFlags) => {
      const config = configFrom(flags);
      const paths = statePaths(config.home);
      const pid = livePid(paths.pidFile) ?? (await fetchHealth(config))?.pid;
      if (!pid) {
        if (flags.json) printJson({ stopped: false, reason: "not running" });
        else info("no server is running");
        process.exitCode = ExitCode.unreachable;
        return;
      }
      process.kill(pid, "SIGTERM");
      const deadline = Date.now() + config.killGraceMs + 10_000;
      while (processStartTime(pid) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const stopped = processStartTime(pid) === undefined;
      if (flags.json) printJson({ stopped, pid });
      else info(stopped ? `stopped the server (pid ${pid})` : `the server (pid ${pid}) did not stop in time`);
      if (!stopped) process.exitCode = ExitCode.failure;
    });
}
