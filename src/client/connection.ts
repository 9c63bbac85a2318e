import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import WebSocket from "ws";
import { defaultHome } from "../paths.js";
import type { ConnectedParams } from "../protocol/index.js";
import { Notifications } from "../protocol/names.js";
import { recordedTlsServer } from "../security/runtime-file.js";
import { verifyServer } from "../security/verify-server.js";
import { readLocalToken } from "../server/auth.js";

/**
 * Opening a client's connection: which URL, which token, checking the server before the token is
 * sent (server-proof.ts), and the handshake up to the server's `connected` greeting.
 */

export interface ConnectOptions {
  /** Default: ws://$CC_EXECUTOR_HOST:$CC_EXECUTOR_PORT/ws/mcp (127.0.0.1:8003); wss:// when the state directory's server on that port serves TLS. */
  url?: string;
  /** Default: CC_EXECUTOR_TOKEN, else CC_EXECUTOR_TOKEN in the state directory's config.env, else its token file. */
  token?: string;
  /** State directory to read the token from (default CC_EXECUTOR_HOME or ~/.cc-executor). */
  home?: string;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** Extra headers (e.g. Origin) for the upgrade request. */
  headers?: Record<string, string>;
  /**
   * Before sending the token, make the server prove it holds it (challenge-response, nothing
   * secret is revealed): a program squatting on the port never gets the token. Default true.
   */
  verifyServer?: boolean;
  /** CA certificate(s) (PEM) to trust for wss:// besides the system's, e.g. a self-signed server certificate. */
  ca?: string | Buffer;
  /** Reconnect and re-attach when the connection drops during a resumable execution (default on). */
  reconnect?: boolean | ReconnectOptions;
}

export interface ReconnectOptions {
  /** Attempts before giving up (default 10). */
  attempts?: number;
  /** First delay; doubles each attempt, with jitter (default 250 ms). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** Opens a socket (over `agent`'s connection when it has one) and waits for the server's `connected` greeting. */
async function openSocket(url: string, headers: Record<string, string>, timeoutMs: number, ca: string | Buffer | undefined, agent: HttpAgent): Promise<{ ws: WebSocket; hello: ConnectedParams }> {
  const ws = new WebSocket(url, { headers, handshakeTimeout: timeoutMs, perMessageDeflate: false, ca, agent });
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      ws.removeAllListeners();
      ws.on("error", () => undefined);
      ws.terminate();
      reject(err);
    };
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => {
        let message = body;
        try {
          message = (JSON.parse(body) as { error?: string }).error ?? body;
        } catch {
          // plain text body
        }
        fail(new RpcClientError(res.statusCode ?? 0, `server refused the connection (HTTP ${res.statusCode}): ${message}`));
      });
    });
    ws.once("error", (err) => fail(new Error(`cannot connect to ${url}: ${err.message}`)));
    ws.once("close", (code, reason) => fail(new Error(`connection closed before it was ready (${code} ${reason.toString()})`)));
    ws.on("message", function first(data) {
      let msg: { method?: string; params?: unknown; error?: { code: number; message: string } };
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (msg.error) return fail(new RpcClientError(msg.error.code, msg.error.message));
      if (msg.method !== Notifications.connected) return;
      ws.off("message", first);
      ws.removeAllListeners("error");
      ws.removeAllListeners("close");
      ws.removeAllListeners("unexpected-response");
      ws.on("error", () => undefined); // surfaced through "close"
      resolve({ ws, hello: msg.params as ConnectedParams });
    });
  });
}

export class RpcClientError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "RpcClientError";
  }
}

function defaultPort(env: NodeJS.ProcessEnv = process.env): number {
  const port = Number(env.CC_EXECUTOR_PORT || 8003);
  return Number.isInteger(port) ? port : 8003;
}

export function defaultServerUrl(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.CC_EXECUTOR_HOST || "127.0.0.1";
  const port = env.CC_EXECUTOR_PORT || "8003";
  return `ws://${host.includes(":") ? `[${host}]` : host}:${port}/ws/mcp`;
}

/**
 * A function that opens a new socket to the server each time it is called (the first connection
 * and every reconnect): the URL and token are chosen once, the server is checked every time, since
 * it may have gone and something else taken its port.
 */
export function socketOpener(options: ConnectOptions): () => Promise<{ ws: WebSocket; hello: ConnectedParams }> {
  const home = options.home ?? defaultHome();
  const tls = options.url === undefined ? recordedTlsServer(home, defaultPort()) : undefined;
  const url = options.url ?? tls?.url ?? defaultServerUrl();
  const ca = options.ca ?? tls?.ca;
  const token = options.token ?? readLocalToken(home);
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  return async () => {
    const agent = oneConnection(url);
    try {
      const headers: Record<string, string> = { ...options.headers };
      if (token) {
        const send = options.verifyServer === false || (await verifyServer(url, { token, home, ca, timeoutMs, agent })).sendToken;
        if (send) headers.authorization = `Bearer ${token}`;
      }
      return await openSocket(url, headers, timeoutMs, ca, agent);
    } finally {
      // the upgraded connection has left the agent; this closes only one that was not upgraded
      agent.destroy();
    }
  };
}

/**
 * A keep-alive agent of one connection for the server's proof and the WebSocket upgrade: the token
 * travels over the very connection (and TLS session) whose server has just proved it holds it, and
 * the second TCP (and TLS) handshake is saved. With one socket at most, the upgrade waits for the
 * proof's connection to be free; a server that closes it after answering gets a new one.
 */
function oneConnection(url: string): HttpAgent {
  const options = { keepAlive: true, maxSockets: 1 };
  return /^(wss|https):/.test(url) ? new HttpsAgent(options) : new HttpAgent(options);
}
