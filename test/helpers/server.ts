import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { loadConfig, type Config, type ConfigOverrides } from "../../src/config.js";
import { startServer, type RunningServer, type StartServerOptions } from "../../src/server/index.js";

export interface TestServer extends RunningServer {
  home: string;
  config: Config;
  cleanup(): Promise<void>;
}

/** A real server on a free loopback port with its own state directory. */
export async function startTestServer(overrides: ConfigOverrides = {}, options: StartServerOptions = {}): Promise<TestServer> {
  const home = mkdtempSync(join(tmpdir(), "cce-test-"));
  // Peer auth off unless a test asks for it: this process is the server's own user, and most tests exercise the token.
  const config = loadConfig({ overrides: { host: "127.0.0.1", port: 0, home, logLevel: "silent", peerAuth: false, ...overrides }, env: {}, cwd: home });
  // hooks.json is looked up in the project first: by default the test's own state dir, never the repository
  const server = await startServer(config, { projectDir: home, ...options });
  return {
    ...server,
    home,
    config,
    cleanup: async () => {
      await server.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export interface RawMessage {
  jsonrpc?: string;
  id?: unknown;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string };
}

/** A bare WebSocket peer, as a client of the original Python server would be. */
export class RawPeer {
  readonly messages: RawMessage[] = [];
  private waiters: Array<() => void> = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.messages.push(JSON.parse(data.toString()));
      this.flush();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.flush();
    });
  }

  static open(url: string, options: { token?: string; headers?: Record<string, string>; path?: string } = {}): Promise<RawPeer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const target = options.path ? url.replace(/\/ws\/mcp$/, options.path) : url;
    const ws = new WebSocket(target, { headers });
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new RawPeer(ws)));
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  request(id: number, method: string, params?: unknown): Promise<RawMessage> {
    this.send({ jsonrpc: "2.0", id, method, params });
    return this.waitFor((m) => m.id === id);
  }

  /** Resolves with the first message (already received or future) matching `pred`. */
  async waitFor(pred: (m: RawMessage) => boolean, timeoutMs = 20_000): Promise<RawMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(pred);
      if (found) return found;
      if (this.closed) throw new Error(`socket closed (${this.closed.code}) while waiting`);
      if (Date.now() > deadline) throw new Error(`timed out waiting; got ${this.messages.map((m) => m.method ?? `#${String(m.id)}`).join(",")}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  notifications(method: string): RawMessage[] {
    return this.messages.filter((m) => m.method === method);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((r) => {
      this.ws.once("close", () => r());
      this.ws.close();
    });
  }

  private flush(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
