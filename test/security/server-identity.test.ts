import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorClient } from "../../src/client/index.js";
import { processStartTime } from "../../src/process/index.js";
import { runCli } from "../helpers/cli.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { rogueServer } from "./helpers.js";

/**
 * The token goes only to the server it belongs to, and `server stop` signals only the process that
 * is that server. The attacker here is a program of another local user that got a port first (or
 * a stale record whose pid now belongs to someone else).
 */

const TOKEN = "the-users-own-token-0123456789abcdef";

function userHome(): string {
  const home = mkdtempSync(join(tmpdir(), "cce-id-"));
  writeFileSync(join(home, "token"), `${TOKEN}\n`, { mode: 0o600 });
  return home;
}

/** A process of the user's that a wrong signal would kill (an editor, a build). */
function victim() {
  const child = spawn("sleep", ["1000"], { detached: true, stdio: "ignore" });
  child.unref();
  const pid = child.pid!;
    const kill = () => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone (killed by the code under test: the assertions say so)
    }
  };
  return { pid, alive: () => processStartTime(pid) !== undefined, kill };
}

describe("clients give the token only to a server that proves it holds it", () => {
  let real: TestServer;
  beforeAll(async () => {
    real = await startTestServer({ token: TOKEN });
  });
  afterAll(async () => {
    await real?.cleanup();
  });

  it("a program squatting on the port gets nothing from the TS client or the CLI", async () => {
    const rogue = await rogueServer();
    try {
      const home = userHome();
      await expect(ExecutorClient.connect({ url: `ws://127.0.0.1:${rogue.port}/ws/mcp`, home, reconnect: false })).rejects.toThrow(/token was not sent/);
      const cli = await runCli(["run", "--no-local", "echo secret-command"], { env: { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(rogue.port), CC_EXECUTOR_TOKEN: "" } });
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toMatch(/token was not sent/);
      expect(rogue.tokensSeen()).toEqual([]);
      // nor did it get a command: the CLI never opened the WebSocket
      expect(rogue.requests.filter((r) => r.headers.upgrade)).toEqual([]);
    } finally {
      await rogue.close();
    }
  });

  it("relaying the challenge to the real server (same token, another port) does not help", async () => {
    const rogue = await rogueServer({
      challenge: async (url) => {
        const res = await fetch(`${real.httpUrl}/auth/challenge${url.search}`);
        return { status: res.status, body: await res.json() };
      },
    });
    try {
      await expect(ExecutorClient.connect({ url: `ws://127.0.0.1:${rogue.port}/ws/mcp`, token: TOKEN, reconnect: false })).rejects.toThrow(/token was not sent/);
      expect(rogue.requests.some((r) => r.url.startsWith("/auth/challenge"))).toBe(true); // it tried
      expect(rogue.tokensSeen()).toEqual([]);
    } finally {
      await rogue.close();
    }
  });

  it("the real server proves it and gets the token (given, or found in the token file)", async () => {
    const home = userHome();
    for (const options of [{ token: TOKEN }, { home }]) {
      const client = await ExecutorClient.connect({ url: real.url, ...options });
      expect((await client.execute("printf ok")).stdout).toBe("ok");
      await client.close();
    }
  });

  it("/health without the token says only whether the server is up: no pid, paths or versions", async () => {
    const res = await fetch(`${real.httpUrl}/health`);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ status: "healthy", service: "cc-executor" });
    expect(text).not.toContain(String(process.pid));
    expect(text).not.toContain(real.home);
    const full = await (await fetch(`${real.httpUrl}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(full).toMatchObject({ pid: process.pid, version: expect.any(String), active_sessions: expect.any(Number) });
  });

  it("/auth/challenge proves without revealing: a bad challenge is refused, a good one gets proofs that differ per challenge", async () => {
    expect((await fetch(`${real.httpUrl}/auth/challenge?challenge=short`)).status).toBe(400);
    const c = (n: number) => Buffer.alloc(32, n).toString("base64url");
    const a = (await (await fetch(`${real.httpUrl}/auth/challenge?challenge=${c(1)}`)).json()) as Record<string, unknown>;
    const b = (await (await fetch(`${real.httpUrl}/auth/challenge?challenge=${c(2)}`)).json()) as Record<string, unknown>;
    expect(a).toMatchObject({ service: "cc-executor", port: real.port, auth: true, token_proof: expect.any(String), launch_proof: expect.any(String) });
    expect(a.token_proof).not.toBe(b.token_proof);
    expect(JSON.stringify(a)).not.toContain(TOKEN);
  });
});

describe("server stop signals only the recorded server process", { timeout: 120_000 }, () => {
  it("a program on the port whose /health names another pid: nothing is signalled", async () => {
    const target = victim();
    const rogue = await rogueServer({ health: { status: "healthy", service: "cc-executor", version: "0.1.0", pid: target.pid, active_sessions: 0, max_sessions: 1, uptime_seconds: 1 } });
    try {
      const home = userHome();
      const stop = await runCli(["server", "stop", "--port", String(rogue.port), "--home", home]);
      expect(stop.code).toBe(3);
      expect(stop.stderr).toMatch(/not signalled|no server/);
      await new Promise((r) => setTimeout(r, 300));
      expect(target.alive()).toBe(true);
      const status = await runCli(["server", "status", "--port", String(rogue.port), "--home", home]);
      expect(status.code).toBe(1);
      expect(status.stderr).toMatch(/not the server of/);
      expect(rogue.tokensSeen()).toEqual([]);
    } finally {
      target.kill();
      await rogue.close();
    }
  });

  it("a stale record (server.pid or the runtime file) whose pid now belongs to another process: nothing is signalled, the record is removed", async () => {
    const target = victim();
    try {
      const home = userHome();
      const port = 20000 + Math.floor(Math.random() * 30000);
      writeFileSync(join(home, "server.pid"), `${target.pid}\n`);
      mkdirSync(join(home, "servers"), { recursive: true });
      const record = { pid: target.pid, port, host: "127.0.0.1", process_start: processStartTime(target.pid)! - 1, nonce: "n".repeat(43), started_at: new Date().toISOString(), version: "0.1.0", auth: true, tls: false, url: `ws://127.0.0.1:${port}/ws/mcp` };
      writeFileSync(join(home, "servers", `${port}.json`), JSON.stringify(record), { mode: 0o600 });
      const stop = await runCli(["server", "stop", "--port", String(port), "--home", home, "--json"]);
      expect(JSON.parse(stop.stdout)).toMatchObject({ stopped: false });
      expect(stop.code).toBe(3);
      await new Promise((r) => setTimeout(r, 300));
      expect(target.alive()).toBe(true);
      expect(existsSync(join(home, "servers", `${port}.json`))).toBe(false);
    } finally {
      target.kill();
    }
  });
});

describe("the runtime file", () => {
  it("is written per port (0600 in a 0700 folder) with pid, port, process start time and a nonce, and removed at shutdown", async () => {
    const server = await startTestServer();
    const file = join(server.home, "servers", `${server.port}.json`);
    expect(server.runtimeFile).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(server.home, "servers")).mode & 0o777).toBe(0o700);
    const record = JSON.parse(readFileSync(file, "utf8"));
    expect(record).toMatchObject({ pid: process.pid, port: server.port, process_start: processStartTime(process.pid), auth: true, tls: false, url: server.url });
    expect(record.nonce).toMatch(/^[\w-]{43}$/);
    await server.close();
    expect(existsSync(file)).toBe(false);
    await server.cleanup();
  });
});
