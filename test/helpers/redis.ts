import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { requireTool } from "./tools.js";

export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "redis-server";

/**
 * A real redis-server on 127.0.0.1 for tests: random free port, no persistence unless asked,
 * its own working directory. stop() and start() keep the port, so a client can be shown an outage
 * and a recovery.
 */
export interface TestRedis {
  port: number;
  url: string;
  /** The pid of the running server, or undefined when stopped. */
  pid(): number | undefined;
  /** Starts the server again on the same port (loading dump.rdb when stop({ persist: true }) wrote one). */
  start(): Promise<void>;
  /** Stops the server; persist: true saves the data first (SHUTDOWN SAVE), so start() brings it back. */
  stop(options?: { persist?: boolean }): Promise<void>;
  /** Stops the server for good and removes its directory. */
  dispose(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export { freePort };

/** Sends one inline command and returns the first reply line, or throws. */
export function redisCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: "127.0.0.1", port });
    let data = "";
    const timer = setTimeout(() => (sock.destroy(), reject(new Error(`no reply to ${command}`))), timeoutMs);
    sock.once("error", (err) => (clearTimeout(timer), reject(err)));
    sock.on("connect", () => sock.write(`${command}\r\n`));
    sock.on("data", (d) => {
      data += d.toString();
      if (data.includes("\r\n")) {
        clearTimeout(timer);
        sock.destroy();
        resolve(data.slice(0, data.indexOf("\r\n")));
      }
    });
    // SHUTDOWN answers nothing when it works: the connection just closes.
    sock.once("close", () => (clearTimeout(timer), data.includes("\r\n") ? undefined : resolve(data)));
  });
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startRedis(options: { port?: number } = {}): Promise<TestRedis> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "cce-redis-"));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = "";

  const start = async (): Promise<void> => {
    if (child) return;
    requireTool(REDIS_SERVER, "redis-server");
    const proc = spawn(
      REDIS_SERVER,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child = proc;
    live.add(proc);
    exited = new Promise((resolve) => proc.once("exit", () => (live.delete(proc), child === proc && (child = undefined), resolve())));
    const spawnError = new Promise<never>((_, reject) => proc.once("error", reject));
    await Promise.race([spawnError, waitFor(async () => (await redisCommand(port, "PING")) === "+PONG", 10_000, `redis-server on port ${port} (${stderr})`)]);
  };

  const stop = async (opts: { persist?: boolean } = {}): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const done = exited;
    if (opts.persist) await redisCommand(port, "SHUTDOWN SAVE").catch(() => undefined);
    else proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await done;
    clearTimeout(timer);
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => child?.pid,
    start,
    stop,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** For cleanup checks: is anything still answering on this port? */
export async function redisAnswers(port: number): Promise<boolean> {
  return redisCommand(port, "PING", 300).then((r) => r === "+PONG", () => false);
}
