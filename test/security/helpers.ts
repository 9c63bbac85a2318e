import type { ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync } from "node:fs";
import WebSocket from "ws";
import { finished, spawnCli, type CliRun } from "../helpers/cli.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) throw new Error(`security tests drive a real browser: ${CHROMIUM} is missing (apt-get install chromium, or set CHROMIUM_PATH)`);

export const randomPort = () => 20000 + Math.floor(Math.random() * 30000);

export interface SpawnedServer {
  child: ChildProcess;
  port: number;
  /** Everything the server printed on stderr so far. */
  stderr(): string;
  exited: Promise<CliRun>;
  stop(): Promise<CliRun>;
}

/** `cc-executor server start <args>` as a user would run it, in `cwd`, with exactly `env` added to the environment. */
export async function spawnServerIn(options: { cwd: string; env?: NodeJS.ProcessEnv; args?: string[]; port?: number }): Promise<SpawnedServer> {
  const port = options.port ?? randomPort();
  const child = spawnCli(["server", "start", "--port", String(port), "--log-level", "warn", ...(options.args ?? [])], { env: options.env, cwd: options.cwd });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = finished(child, 600_000);
  const deadline = Date.now() + 40_000;
  // The start message's last line: the lines before it (where the token came from) are there too.
  while (!/stop with Ctrl-C/.test(err)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`server did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    port,
    stderr: () => err,
    exited,
    stop: () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** The HTTP status of a WebSocket upgrade (101 when it opened). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once("error", (e) => reject(e));
  });
}

/**
 * What an attacker does once connected: run `id` and return its output; or the HTTP status of the
 * refused upgrade as "refused <status>".
 */
export function runIdOver(url: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    let out = "";
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve(`refused ${res.statusCode}`);
    });
    ws.once("error", reject);
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString()) as { method?: string; params?: { data?: string } };
      if (m.method === "connected") ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "execute", params: { command: "id" } }));
      if (m.method === "process.output") out += m.params?.data ?? "";
      if (m.method === "process.completed") {
        ws.close();
        resolve(out);
      }
    });
  });
}

/**
 * A page served from another origin (its own loopback port) that tries to run `id` on the server
 * through a WebSocket; it writes what happened into document.title: "output: ..." or "refused".
 */
export async function hostilePage(target: string): Promise<{ url: string; origin: string; close(): Promise<void> }> {
  const html = `<!doctype html><html><head><title>waiting</title></head><body><script>
    const ws = new WebSocket(${JSON.stringify(target)});
    let out = "";
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.method === "connected") ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "execute", params: { command: "id" } }));
      if (m.method === "process.output") out += m.params.data;
      if (m.method === "process.completed") document.title = "output: " + out;
    };
    ws.onerror = () => { if (!out) document.title = "refused"; };
    ws.onclose = () => { if (!out) document.title = "refused"; };
  </script></body></html>`;
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export interface Rogue {
  port: number;
  /** Headers of every request it received (HTTP and upgrades). */
  requests: Array<{ url: string; headers: Record<string, string | string[] | undefined> }>;
  /** Every Authorization header or ?token= it saw. */
  tokensSeen(): string[];
  close(): Promise<void>;
}

/**
 * A program of another user squatting on a port: it answers like a cc-executor (health, WebSocket
 * greeting) and writes down every credential it is sent. `challenge` decides its answer to
 * /auth/challenge (default: 404, as a program that knows nothing).
 */
export async function rogueServer(options: { port?: number; health?: object; challenge?: (url: URL) => Promise<{ status: number; body: unknown }> } = {}): Promise<Rogue> {
  const requests: Rogue["requests"] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    const url = new URL(req.url ?? "/", "http://x");
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/health") return answer(200, options.health ?? { status: "healthy", service: "cc-executor", version: "0.1.0" });
    if (url.pathname === "/auth/challenge" && options.challenge) return void options.challenge(url).then((a) => answer(a.status, a.body));
    answer(404, { error: "not found" });
  });
  const { WebSocketServer } = await import("ws");
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    wss.handleUpgrade(req, socket, head, (ws) => ws.send(JSON.stringify({ jsonrpc: "2.0", method: "connected", params: { session_id: "rogue", version: "0.1.0", capabilities: [] } })));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    tokensSeen: () =>
      requests.flatMap((r) => {
        const seen: string[] = [];
        if (typeof r.headers.authorization === "string") seen.push(r.headers.authorization);
        const q = new URL(r.url, "http://x").searchParams.get("token");
        if (q) seen.push(q);
        return seen;
      }),
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
