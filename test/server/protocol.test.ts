import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { isPaused, liveGroupMembers, liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { RawPeer, startTestServer, type TestServer } from "../helpers/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ maxMessageSize: 64 * 1024 });
});
afterAll(async () => {
  await server.cleanup();
});

const open = (opts: Parameters<typeof RawPeer.open>[1] = {}) => RawPeer.open(server.url, { token: server.token, ...opts });

describe("wire protocol", () => {
  it("greets with a connected notification", async () => {
    const peer = await open();
    const hello = await peer.waitFor((m) => m.method === "connected");
    expect(hello.jsonrpc).toBe("2.0");
    expect(hello.params).toMatchObject({ session_id: expect.any(String), version: expect.any(String), capabilities: expect.arrayContaining(["execute", "control"]) });
    await peer.close();
  });

  it("answers on /ws as well as /ws/mcp, and 404 elsewhere", async () => {
    const peer = await open({ path: "/ws" });
    await peer.waitFor((m) => m.method === "connected");
    await peer.close();
    await expect(open({ path: "/nope" })).rejects.toThrow(/404/);
  });

  it("execute: started result, then process.started, output, completed — in that order", async () => {
    const peer = await open();
    const res = await peer.request(1, "execute", { command: "echo hello; echo oops >&2; exit 3" });
    expect(res.result).toMatchObject({ status: "started", pid: expect.any(Number), pgid: expect.any(Number) });
    const done = await peer.waitFor((m) => m.method === "process.completed");
    expect(done.params).toMatchObject({ status: "failed", exit_code: 3, execution_id: res.result.execution_id });
    const order = peer.messages.filter((m) => m.id === 1 || m.method?.startsWith("process.")).map((m) => m.method ?? "result");
    expect(order[0]).toBe("result");
    expect(order[1]).toBe("process.started");
    expect(order.at(-1)).toBe("process.completed");
    const out = peer.notifications("process.output").map((m) => m.params);
    expect(out).toContainEqual(expect.objectContaining({ type: "stdout", data: "hello\n", chunk_index: 0, total_chunks: 1, truncated: false }));
    expect(out).toContainEqual(expect.objectContaining({ type: "stderr", data: "oops\n" }));
    await peer.close();
  });

  it("completed with exit 0 for a successful command", async () => {
    const peer = await open();
    await peer.request(1, "execute", { command: "true" });
    const done = await peer.waitFor((m) => m.method === "process.completed");
    expect(done.params).toMatchObject({ status: "completed", exit_code: 0 });
    expect(typeof done.params.execution_time).toBe("number");
    await peer.close();
  });

  it("refuses a second execute in the same session with -32602", async () => {
    const peer = await open();
    const s = uniqueSleep();
    await peer.request(1, "execute", { command: `sleep ${s}` });
    const second = await peer.request(2, "execute", { command: "echo no" });
    expect(second.error?.code).toBe(-32602);
    expect(second.error?.message).toMatch(/already running/);
    const cancel = await peer.request(3, "control", { type: "CANCEL" });
    expect(cancel.result).toMatchObject({ status: "canceled" });
    const done = await peer.waitFor((m) => m.method === "process.completed");
    expect(done.params.status).toBe("canceled");
    expect(peer.notifications("process.canceled")).toHaveLength(1);
    expect(liveSleeps(s)).toEqual([]);
    // and the session is usable again
    await peer.request(4, "execute", { command: "echo again" });
    await peer.waitFor((m) => m.method === "process.completed" && m.params.status === "completed");
    await peer.close();
  });

  it("timeout param kills the group and reports timeout, never success", async () => {
    const peer = await open();
    const s = uniqueSleep();
    await peer.request(1, "execute", { command: `sleep ${s} & sleep ${s}`, timeout: 0.5 });
    const done = await peer.waitFor((m) => m.method === "process.completed");
    expect(done.params.status).toBe("timeout");
    expect(done.params.exit_code).not.toBe(0);
    expect(liveSleeps(s)).toEqual([]);
    await peer.close();
  });

  it("pause and resume over control", async () => {
    const peer = await open();
    const res = await peer.request(1, "execute", { command: "for i in $(seq 1 30); do echo $i; sleep 0.05; done" });
    await peer.waitFor((m) => m.method === "process.output");
    const paused = await peer.request(2, "control", { type: "PAUSE" });
    expect(paused.result).toMatchObject({ status: "paused" });
    await peer.waitFor((m) => m.method === "process.paused");
    await waitUntil(() => liveGroupMembers(res.result.pgid).every(isPaused), 5000, "stopped");
    const again = await peer.request(3, "control", { type: "PAUSE" });
    expect(again.error?.code).toBe(-32002);
    const resumed = await peer.request(4, "control", { type: "resume" });
    expect(resumed.result).toMatchObject({ status: "resumed" });
    await peer.waitFor((m) => m.method === "process.resumed");
    const done = await peer.waitFor((m) => m.method === "process.completed");
    expect(done.params.status).toBe("completed");
    await peer.close();
  });

  it("control with nothing running answers -32002", async () => {
    const peer = await open();
    const res = await peer.request(1, "control", { type: "CANCEL" });
    expect(res.error?.code).toBe(-32002);
    await peer.close();
  });

  it("hook_status answers", async () => {
    const peer = await open();
    const res = await peer.request(1, "hook_status", {});
    expect(res.result).toHaveProperty("enabled");
    await peer.close();
  });

  it("client disconnect kills the session's process group", async () => {
    const peer = await open();
    const s = uniqueSleep();
    await peer.request(1, "execute", { command: `sleep ${s} & sleep ${s}` });
    await waitUntil(() => liveSleeps(s).length === 2, 5000, "started");
    peer.ws.terminate();
    await waitUntil(() => liveSleeps(s).length === 0, 10_000, "group killed after disconnect");
  });
});

describe("bad input", () => {
  it("malformed JSON answers -32700 and the connection stays usable", async () => {
    const peer = await open();
    peer.send("{not json");
    const err = await peer.waitFor((m) => m.error?.code === -32700);
    expect(err.id).toBeNull();
    const ok = await peer.request(7, "hook_status");
    expect(ok.result).toBeDefined();
    await peer.close();
  });

  it("unknown method -32601, invalid request -32600, bad params -32602 naming the field", async () => {
    const peer = await open();
    expect((await peer.request(1, "nope")).error?.code).toBe(-32601);
    peer.send({ jsonrpc: "2.0", id: 2, method: 42 });
    expect((await peer.waitFor((m) => m.id === 2)).error?.code).toBe(-32600);
    peer.send([{ jsonrpc: "2.0", id: 3, method: "execute" }]);
    expect((await peer.waitFor((m) => m.error?.message.includes("batch") ?? false)).error?.code).toBe(-32600);
    const bad = await peer.request(4, "execute", { command: "echo", timeout: "soon" });
    expect(bad.error?.code).toBe(-32602);
    expect(bad.error?.message).toMatch(/timeout/);
    const missing = await peer.request(5, "execute", {});
    expect(missing.error?.message).toMatch(/command/);
    const badControl = await peer.request(6, "control", { type: "EXPLODE" });
    expect(badControl.error?.code).toBe(-32602);
    expect(badControl.error?.message).toMatch(/type/);
    const badCwd = await peer.request(8, "execute", { command: "true", cwd: "/no/such/dir" });
    expect(badCwd.error?.code).toBe(-32602);
    expect(badCwd.error?.message).toMatch(/cwd/);
    await peer.close();
  });

  it("binary frames get -32600", async () => {
    const peer = await open();
    peer.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const err = await peer.waitFor((m) => m.error?.code === -32600);
    expect(err.error?.message).toMatch(/binary/);
    await peer.close();
  });

  it("an oversized message closes that connection (1009) and others are unaffected", async () => {
    const other = await open();
    const peer = await open();
    peer.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "execute", params: { command: "x".repeat(200 * 1024) } }));
    await waitUntil(() => peer.closed !== undefined, 5000, "closed");
    expect(peer.closed?.code).toBe(1009);
    expect((await other.request(1, "hook_status")).result).toBeDefined();
    await other.close();
  });

  it("refuses upgrades without a token, with a wrong token, or with a foreign Origin", async () => {
    await expect(RawPeer.open(server.url)).rejects.toThrow(/401/);
    await expect(RawPeer.open(server.url, { token: "wrong-token-wrong-token" })).rejects.toThrow(/401/);
    await expect(RawPeer.open(server.url, { token: server.token, headers: { origin: "https://evil.example" } })).rejects.toThrow(/403/);
    const sameOrigin = await RawPeer.open(server.url, { token: server.token, headers: { origin: server.httpUrl } });
    await sameOrigin.waitFor((m) => m.method === "connected");
    await sameOrigin.close();
    const viaQuery = await RawPeer.open(`${server.url}?token=${encodeURIComponent(server.token!)}`);
    await viaQuery.waitFor((m) => m.method === "connected");
    await viaQuery.close();
  });

  it("health answers on /health and /healthz: whether it is up without the token, the full document with it", async () => {
    for (const path of ["/health", "/healthz"]) {
      const open = await fetch(`${server.httpUrl}${path}`);
      expect(open.status).toBe(200);
      expect(await open.json()).toEqual({ status: "healthy", service: "cc-executor" });
      const res = await fetch(`${server.httpUrl}${path}`, { headers: { authorization: `Bearer ${server.token}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: "healthy", service: "cc-executor", active_sessions: expect.any(Number), max_sessions: expect.any(Number), uptime_seconds: expect.any(Number), pid: process.pid });
    }
  });
});

describe("limits", () => {
  it("answers -32003 past MAX_SESSIONS and closes that connection", async () => {
    const small = await startTestServer({ maxSessions: 2 });
    const a = await RawPeer.open(small.url, { token: small.token });
    const b = await RawPeer.open(small.url, { token: small.token });
    await a.waitFor((m) => m.method === "connected");
    await b.waitFor((m) => m.method === "connected");
    const c = await RawPeer.open(small.url, { token: small.token });
    await waitUntil(() => c.closed !== undefined, 5000, "third closed");
    expect(c.messages[0]?.error?.code).toBe(-32003);
    expect(c.closed?.code).toBe(1013);
    await a.close();
    await b.close();
    await small.cleanup();
  });

  it("closes a session idle for SESSION_TIMEOUT, but not while its process runs", async () => {
    const srv = await startTestServer({ sessionIdleTimeoutS: 1 });
    const idle = await RawPeer.open(srv.url, { token: srv.token });
    const busy = await RawPeer.open(srv.url, { token: srv.token });
    await busy.request(1, "execute", { command: "sleep 2.5; echo done" });
    await waitUntil(() => idle.closed !== undefined, 5000, "idle closed");
    expect(idle.closed).toMatchObject({ code: 1000, reason: "idle timeout" });
    const done = await busy.waitFor((m) => m.method === "process.completed");
    expect(done.params.status).toBe("completed");
    await busy.close();
    await srv.cleanup();
  });

  it("refuses a non-loopback bind without auth", async () => {
    await expect(startTestServer({ host: "0.0.0.0", auth: false })).rejects.toThrow(/loopback/);
  });

  it("server shutdown kills every running group", async () => {
    const srv = await startTestServer();
    const s = uniqueSleep();
    const peers = await Promise.all([0, 1, 2].map(() => RawPeer.open(srv.url, { token: srv.token })));
    await Promise.all(peers.map((p, i) => p.request(i, "execute", { command: `sleep ${s}` })));
    await waitUntil(() => liveSleeps(s).length === 3, 5000, "three running");
    await srv.cleanup();
    expect(liveSleeps(s)).toEqual([]);
    await waitUntil(() => peers.every((p) => p.closed !== undefined), 5000, "peers closed");
  });
});

describe("a client of the original server", () => {
  it("works unchanged: no jsonrpc checks beyond 2.0, reads params.type/data and status/exit_code", async () => {
    // What a Python client of the original does: send, then read messages until process.completed.
    const ws = new WebSocket(server.url, { headers: { authorization: `Bearer ${server.token}` } });
    const lines: string[] = [];
    const done = new Promise<{ status: string; exit_code: number }>((resolve) => {
      ws.on("message", (raw) => {
        const msg = JSON.parse(raw.toString());
        if (msg.method === "connected") ws.send(JSON.stringify({ jsonrpc: "2.0", method: "execute", params: { command: "echo 1; echo 2" }, id: "abc-1" }));
        if (msg.method === "process.output" && msg.params.type === "stdout") lines.push(msg.params.data);
        if (msg.method === "process.completed") resolve(msg.params);
      });
    });
    const result = await done;
    expect(result.status).toBe("completed");
    expect(result.exit_code).toBe(0);
    expect(lines.join("")).toBe("1\n2\n");
    ws.close();
  });
});
