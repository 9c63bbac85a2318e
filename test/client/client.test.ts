import { mkdtempSync } from "node:fs";
import net, { type AddressInfo } from "node:net";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { ExecutorClient, RpcClientError, type ExecutorEvent } from "../../src/client/index.js";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { requestsDuring } from "../helpers/sent-requests.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.cleanup();
});

describe("ExecutorClient", () => {
  it("finds the token in the state directory by itself", async () => {
    const client = await ExecutorClient.connect({ url: server.url, home: server.home });
    expect(client.sessionId).toMatch(/-/);
    await client.close();
  });

  it("the server's proof and the WebSocket upgrade that carries the token share one connection", async () => {
    const connect = net.Socket.prototype.connect;
    let opened = 0;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      opened++;
      return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof connect;
    let client: ExecutorClient;
    try {
      client = await ExecutorClient.connect({ url: server.url, token: server.token });
    } finally {
      net.Socket.prototype.connect = connect;
    }
    expect(opened).toBe(1);
    expect(await client.execute("echo one")).toMatchObject({ success: true, stdout: "one\n" });
    await client.close();
  });

  it("with a token the server cannot prove it holds, sends nothing and says why", async () => {
    await expect(ExecutorClient.connect({ url: server.url, token: "x".repeat(20) })).rejects.toThrow(/could not prove that it holds your token; the token was not sent/);
    // unchecked (verifyServer: false), the server itself refuses it
    await expect(ExecutorClient.connect({ url: server.url, token: "x".repeat(20), verifyServer: false })).rejects.toThrow(/HTTP 401/);
  });

  it("execute returns the documented result and streams onOutput", async () => {
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const seen: string[] = [];
    const res = await client.execute("echo hi; echo err >&2; exit 4", { timeout: 30, onOutput: (c) => seen.push(`${c.stream}:${c.data}`) });
    expect(res).toMatchObject({ success: false, exitCode: 4, signal: null, status: "failed", stdout: "hi\n", stderr: "err\n", truncated: false });
    expect(res.durationMs).toBeGreaterThanOrEqual(0);
    expect(seen).toEqual(["stdout:hi\n", "stderr:err\n"]);
    const ok = await client.execute(["node", "-e", "console.log(process.argv[1])", "a b'c"]);
    expect(ok).toMatchObject({ success: true, stdout: "a b'c\n" });
    await client.close();
  });

  it("sends only the execute request for a command that runs to its end (no cancel of the ended process)", async () => {
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const sent = await requestsDuring(async () => {
      expect(await client.execute("true")).toMatchObject({ success: true });
      const events: string[] = [];
      for await (const ev of client.stream("echo a")) events.push(ev.method);
      expect(events.at(-1)).toBe("process.completed");
    });
    expect(sent).toEqual(["execute", "execute"]);
    await client.close();
  });

  it("closeNow sends a normal close (1000) and lets go of the connection without waiting for the server", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await once(wss, "listening");
    const closedWith = new Promise<number>((resolve) =>
      wss.on("connection", (ws) => {
        ws.send(JSON.stringify({ jsonrpc: "2.0", method: "connected", params: { session_id: "s-1", version: "test", capabilities: [] } }));
        ws.on("close", (code) => resolve(code));
      }),
    );
    try {
      const { port } = wss.address() as AddressInfo;
      const client = await ExecutorClient.connect({ url: `ws://127.0.0.1:${port}/ws/mcp`, home: mkdtempSync(join(tmpdir(), "cce-client-")) });
      const clientClosed = once(client, "close");
      client.closeNow();
      expect(await closedWith).toBe(1000);
      await clientClosed;
      await expect(client.settings()).rejects.toThrow(/connection closed/);
    } finally {
      wss.close();
    }
  });

  it("stream yields typed notifications and ends after process.completed", async () => {
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const events: ExecutorEvent[] = [];
    for await (const ev of client.stream("echo a; echo b")) events.push(ev);
    expect(events[0]!.method).toBe("process.started");
    expect(events.at(-1)!.method).toBe("process.completed");
    expect(events.filter((e) => e.method === "process.output").map((e) => (e.params as { data: string }).data).join("")).toBe("a\nb\n");
    await client.close();
  });

  it("breaking out of stream cancels the process", async () => {
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const s = uniqueSleep();
    for await (const ev of client.stream(`echo go; sleep ${s}`)) {
      if (ev.method === "process.output") break;
    }
    await waitUntil(() => liveSleeps(s).length === 0, 10_000, "canceled");
    await client.close();
  });

  it("pause, resume and cancel", async () => {
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const s = uniqueSleep();
    const running = client.execute(`sleep ${s}`);
    await waitUntil(() => liveSleeps(s).length === 1, 5000, "started");
    expect(await client.pause()).toMatchObject({ status: "paused" });
    expect(await client.resume()).toMatchObject({ status: "resumed" });
    expect(await client.cancel()).toMatchObject({ status: "canceled" });
    const res = await running;
    expect(res).toMatchObject({ success: false, status: "canceled" });
    await expect(client.cancel()).rejects.toBeInstanceOf(RpcClientError);
    await client.close();
  });

  it("reconnects with backoff during a resumable execution and loses nothing", async () => {
    const client = await ExecutorClient.connect({ url: server.url, token: server.token, reconnect: { baseDelayMs: 50 } });
    const firstSession = client.sessionId;
    const events: string[] = [];
    client.on("reconnecting", () => events.push("reconnecting"));
    client.on("reconnected", () => events.push("reconnected"));
    let drops = 0;
    let outputs = 0;
    const running = client.execute("for i in $(seq 1 20); do seq $(( (i-1)*500+1 )) $(( i*500 )); sleep 0.05; done", {
      resumable: true,
      onOutput: () => {
        // drop the connection at the 2nd and the 6th output event (deterministic, whatever the chunking)
        outputs++;
        if (outputs === 2 || outputs === 6) {
          drops++;
          (client as unknown as { ws: { terminate(): void } }).ws.terminate();
        }
      },
    });
    const res = await running;
    expect(res.status).toBe("completed");
    const numbers = res.stdout.trim().split("\n").map(Number);
    expect(numbers).toHaveLength(10_000);
    numbers.forEach((n, i) => expect(n).toBe(i + 1));
    expect(drops).toBeGreaterThan(0);
    expect(events).toContain("reconnected");
    expect(client.sessionId).not.toBe(firstSession);
    await client.close();
  }, 30_000);

  it("a reconnect whose replay has a gap (the replay file is capped) says so: truncated, and the head and tail are there", async () => {
    const capped = await startTestServer({ replayFileMaxBytes: 256 * 1024, replayBufferBytes: 64 * 1024 });
    try {
      const client = await ExecutorClient.connect({ url: capped.url, token: capped.token, reconnect: { baseDelayMs: 1500 } });
      let outputs = 0;
      const res = await client.execute("echo start; sleep 0.3; seq 1 400000", {
        resumable: true,
        onOutput: () => {
          // away while seq writes ~2.6 MB: far more than the 256 KiB replay file keeps
          if (++outputs === 1) (client as unknown as { ws: { terminate(): void } }).ws.terminate();
        },
      });
      expect(res.status).toBe("completed");
      expect(res.truncated).toBe(true);
      const lines = res.stdout.trim().split("\n");
      expect(lines[0]).toBe("start");
      expect(lines[1]).toBe("1");
      expect(lines.at(-1)).toBe("400000");
      expect(lines.length).toBeLessThan(400_001);
      await client.close();
    } finally {
      await capped.cleanup();
    }
  }, 60_000);
});
