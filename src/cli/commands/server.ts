import type { Command } from "commander";
import { parsePort } from "../parse-options.js";

export interface ServerFlags {
  host?: string;
  port?: number;
  auth?: boolean;
  peerAuth?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  allowPlaintext?: boolean;
  shell?: string;
  home?: string;
  logLevel?: string;
  daemon?: boolean;
  json?: boolean;
}

export function registerServer(program: Command): void {
  const server = program.command("server").description("start, stop and inspect the cc-executor server (one state directory may run several, one per port)");
  const common = (cmd: Command) =>
    cmd
      .option("--host <host>", "address to bind / reach (default CC_EXECUTOR_HOST or 127.0.0.1)")
      .option("-p, --port <port>", "port: the server is addressed by it (default CC_EXECUTOR_PORT or 8003)", parsePort)
      .option("--home <dir>", "state directory (default CC_EXECUTOR_HOME or ~/.cc-executor)");

  common(server.command("start"))
    .description("start the server (foreground by default)")
    .option("-d, --daemon", "run in the background, write its runtime file and return")
    .option("--no-auth", "accept connections without a token (loopback addresses only)")
    .option("--no-peer-auth", "require the token from local clients of your own user too (Linux peer auth off)")
    .option("--tls-cert <file>", "PEM certificate: serve https/wss (with --tls-key)")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .option("--allow-plaintext", "allow a non-loopback --host without TLS (the token crosses the network in clear text)")
    .option("--shell <shell>", "shell for commands: zsh | bash | sh | default")
    .option("--log-level <level>", "fatal | error | warn | info | debug | trace | silent")
    .action(async (flags: ServerFlags) => (await import("../actions/server.js")).serverStart(flags));

  common(server.command("status"))
    .description("is the server on this port running and is it ours? version, uptime, sessions (exit 3 when not reachable, 1 when something else answers)")
    .option("--json", "print the health document as JSON")
    .action(async (flags: ServerFlags) => (await import("../actions/server.js")).serverStatus(flags));

  common(server.command("stop"))
    .description("stop the server on this port (only the process recorded in its runtime file; SIGTERM: it kills every running process group first)")
    .option("--json", "print the outcome as JSON")
    .action(async (flags: ServerFlags) => (await import("../actions/server.js")).serverStop(flags));
}
