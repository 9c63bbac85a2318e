import { readFileSync } from "node:fs";
import type { Config } from "../config.js";
import { httpBaseOf } from "../security/http-get.js";
import type { RuntimeRecord } from "../security/runtime-file.js";

/**
 * Where the server of a state directory's settings is reached: its URLs and, with TLS, its own
 * certificate. What every command that connects needs; checking the server (server-locate.ts) is
 * what only `server status`/`stop`, `doctor` and the daemon start do besides.
 */

export interface LocalTarget {
  ws: string;
  http: string;
  /** The server's own certificate (from its runtime file) when it serves TLS. */
  ca?: Buffer;
}

/** How to reach the server of `config` on this machine (a wildcard bind is reached over loopback). */
export function localTarget(config: Config, record?: RuntimeRecord): LocalTarget {
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host === "::" ? "::1" : config.host;
  const tls = record?.tls ?? config.tlsCert !== undefined;
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  const ws = `${tls ? "wss" : "ws"}://${hostForUrl}:${config.port}/ws/mcp`;
  let ca: Buffer | undefined;
  const certFile = record?.tls_cert ?? config.tlsCert;
  if (tls && certFile) {
    try {
      ca = readFileSync(certFile);
    } catch {
      // then only the system's CAs
    }
  }
  return { ws, http: httpBaseOf(ws), ca };
}
