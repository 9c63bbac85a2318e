import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Config } from "../config.js";
import { isLoopbackHost } from "../security/addresses.js";

/** Why a server refuses to start (bad settings, a taken port, an unusable state directory). */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

/**
 * Checks the bind against the security settings: no auth only on loopback; a non-loopback address
 * only with TLS (a certificate and key) or an explicit acceptance of plain text, since the token
 * would otherwise cross the network readable by anyone on the path.
 */
export function checkBind(config: Config): void {
  if (!config.auth && !isLoopbackHost(config.host)) {
    throw new StartupError(`refusing to listen on ${config.host} without authentication: --no-auth is only allowed on a loopback address (127.0.0.1, ::1, localhost)`);
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new StartupError("TLS needs both a certificate and its key: --tls-cert and --tls-key (CC_EXECUTOR_TLS_CERT, CC_EXECUTOR_TLS_KEY)");
  }
  if (!isLoopbackHost(config.host) && config.tlsCert === undefined && !config.allowPlaintext) {
    throw new StartupError(
      `refusing to listen on ${config.host} without TLS: the token and every command would cross the network in clear text. Give --tls-cert and --tls-key (serves https/wss), or accept plain text with --allow-plaintext (CC_EXECUTOR_ALLOW_PLAINTEXT=true)`,
    );
  }
}

/** An http server, or an https one when a certificate and key are configured. */
export function createListener(config: Config, options: { connectionsCheckingInterval: number }, handler: RequestListener): { server: HttpServer; tls: boolean } {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return { server: createHttpServer(options, handler), tls: false };
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(config.tlsCert);
    key = readFileSync(config.tlsKey);
  } catch (err) {
    throw new StartupError(`cannot read the TLS certificate or key: ${(err as Error).message}`);
  }
  try {
    return { server: createHttpsServer({ ...options, cert, key }, handler) as unknown as HttpServer, tls: true };
  } catch (err) {
    throw new StartupError(`cannot use the TLS certificate ${config.tlsCert} with the key ${config.tlsKey}: ${(err as Error).message}`);
  }
}
