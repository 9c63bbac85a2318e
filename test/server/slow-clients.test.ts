import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../helpers/procs.js";
import { RawSocketClient } from "../helpers/raw-socket.js";
import { RawPeer, startTestServer, type RawMessage } from "../helpers/server.js";
import { rssBytes, spawnServerProcess, type ServerProcess } from "../helpers/server-process.js";

/**
 * Clients that stop reading, against a real server process: what it holds for them is measured in
 * /proc/<pid>/status, and the peer is a socket nobody reads, so TCP backpressure is real.
 */

const MiB = 1024 * 1024;
/** What the server may grow by while a client that does not read replays 500 MB. */
const REPLAY_RSS_BOUND = 64 * MiB;
/**
 * CC_EXECUTOR_MAX_CLIENT_QUEUE of the server under test: above what the kernel's socket buffers of
 * a stalled loopback peer can absorb (tcp_rmem up to 32 MiB here), so that a short stall can be
 * told from a long one.
 */
const QUEUE_LIMIT = 64 * MiB;

let server: ServerProcess;
beforeAll(async () => {
  server = await spawnServerProcess({ CC_EXECUTOR_REPLAY_FILE_MAX: "1G", CC_EXECUTOR_RESUME_GRACE: "120", CC_EXECUTOR_MAX_CLIENT_QUEUE: `${QUEUE_LIMIT}` });
});
afterAll(async () => {
  await server.stop();
});

const open = async () => {
  const peer = await RawPeer.open(server.url, { token: server.token });
  await peer.waitFor((m) => m.method === "connected");
  return peer;
};

function folderBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

/** 500,000 lines of 1000 bytes, as fast as the pipe takes them. */
const FIVE_HUNDRED_MB = "const l='x'.repeat(999)+'\\n';let n=0;const w=()=>{while(n<500000){n++;if(!process.stdout.write(l)){process.stdout.once('drain',w);return}}};w()";
/** Numbered lines as fast as the pipe takes them, until canceled. */
const FLOOD = "let i=0;const w=()=>{let ok=true;while(ok){ok=process.stdout.write((i++)+'\\n'+'x'.repeat(1000)+'\\n')}process.stdout.once('drain',w)};w()";

/** Bytes the process has read through read(2) and friends so far (/proc/<pid>/io rchar). */
function bytesRead(pid: number): number {
  return Number(/rchar:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? 0);
}

/** Output bytes a peer has received so far. */
const received = (peer: RawPeer) => peer.notifications("process.output").reduce((sum, m) => sum + String(m.params.data).length, 0);

/** How many watchers the monitor counts for an execution. */
async function watchersOf(peer: RawPeer, id: string): Promise<number> {
  const list = await peer.request(Math.floor(Math.random() * 1e9), "monitor.list", {});
  return (list.result.executions as Array<{ id: string; watchers: number }>).find((e) => e.id === id)?.watchers ?? -1;
}

async function sampleRss(ms: number): Promise<number> {
  let peak = 0;
  for (let t = 0; t < ms; t += 100) {
    await new Promise((r) => setTimeout(r, 100));
    peak = Math.max(peak, rssBytes(server.pid));
  }
  return peak;
}

describe("a client that stops reading", () => {
  it("during a 500 MB replay: the replay is read from disk at its pace; server RSS stays bounded", async () => {
    const owner = await open();
    const res = await owner.request(1, "execute", { command: ["node", "-e", FIVE_HUNDRED_MB], resumable: true });
    const id = res.result.execution_id as string;
    await owner.waitFor((m) => m.method === "process.output");
    owner.ws.terminate(); // the rest goes to the replay file at full speed

    const watcher = await open();
    for (let i = 2; ; i++) {
      const list = await watcher.request(i, "monitor.list", {});
      if ((list.result.executions as Array<{ id: string; status: string }>).find((e) => e.id === id)?.status === "completed") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const replayBytes = folderBytes(join(server.home, "runs", id));
    expect(replayBytes).toBeGreaterThan(500_000_000);

    await new Promise((r) => setTimeout(r, 500));
    const baseline = rssBytes(server.pid);
    const readBefore = bytesRead(server.pid);
    const stalled = await RawSocketClient.open(server.port, server.token);
    stalled.request(1, "attach", { execution_id: id, since_seq: 0 });
    const peak = await sampleRss(4000);
    const read = bytesRead(server.pid) - readBefore;
    console.log(
      `replay of ${(replayBytes / MiB).toFixed(0)} MiB to a client that does not read: server RSS ${(baseline / MiB).toFixed(0)} -> peak ${(peak / MiB).toFixed(0)} MiB ` +
        `(+${((peak - baseline) / MiB).toFixed(1)} MiB, bound ${REPLAY_RSS_BOUND / MiB} MiB); read from disk meanwhile: ${(read / MiB).toFixed(1)} MiB`,
    );
    expect(peak - baseline).toBeLessThan(REPLAY_RSS_BOUND);
    // The replay started (some of the file was read), and stopped where the client stopped reading.
    expect(read).toBeGreaterThan(256 * 1024);
    expect(read).toBeLessThan(REPLAY_RSS_BOUND);

    // The server is as responsive as before for everybody else.
    const other = await open();
    const echo = await other.request(1, "execute", { command: "echo still-serving" });
    expect(echo.result.status).toBe("started");
    const done = await other.waitFor((m) => m.method === "process.completed");
    expect(done.params.status).toBe("completed");
    stalled.destroy();
    await other.close();
    await watcher.close();
  }, 120_000);

  it("watching a flood with monitor.watch: it is disconnected with close 4008; the owner and other watchers go on", async () => {
    const owner = await open();
    const res = await owner.request(1, "execute", { command: ["node", "-e", FLOOD] });
    const id = res.result.execution_id as string;
    await owner.waitFor((m) => m.method === "process.output");

    const stalled = await open();
    const healthy = await open();
    expect((await stalled.request(1, "monitor.watch", { execution_id: id })).result.status).toBe("watching");
    expect((await healthy.request(1, "monitor.watch", { execution_id: id })).result.status).toBe("watching");
    const socket = (stalled.ws as unknown as { _socket: Socket })._socket;
    socket.pause();

    // The server lets it go once what it owes it (beyond what the socket buffers took) passes the limit.
    const before = healthy.messages.length;
    const deadline = Date.now() + 30_000;
    while ((await watchersOf(healthy, id)) !== 1) {
      if (Date.now() > deadline) throw new Error("the stalled watcher was not disconnected");
      await new Promise((r) => setTimeout(r, 200));
    }
    socket.resume();
    await waitUntil(() => stalled.closed !== undefined, 20_000, "the stalled watcher's socket to close");
    expect(stalled.closed?.code).toBe(4008);
    expect(stalled.closed?.reason).toMatch(/too slow/);

    // The healthy watcher kept getting the execution's output, and still does.
    expect(healthy.messages.length).toBeGreaterThan(before + 100);
    const count = healthy.messages.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(healthy.messages.length).toBeGreaterThan(count);
    expect(healthy.closed).toBeUndefined();

    await owner.request(2, "control", { type: "CANCEL" });
    await owner.waitFor((m) => m.method === "process.completed");
    // The owner got every line, in order.
    const numbers = owner
      .notifications("process.output")
      .map((m: RawMessage) => m.params.data)
      .join("")
      .split("\n")
      .filter((l: string) => /^\d+$/.test(l))
      .map(Number);
    expect(numbers.length).toBeGreaterThan(10_000);
    numbers.forEach((n: number, i: number) => expect(n).toBe(i));
    await owner.close();
    await healthy.close();
  }, 60_000);

  it("a watcher that stops reading for a moment is not disconnected: it gets monitor.dropped, then what is still kept, in order", async () => {
    const owner = await open();
    const res = await owner.request(1, "execute", { command: ["node", "-e", FLOOD] });
    const id = res.result.execution_id as string;
    await owner.waitFor((m) => m.method === "process.output");
    const watcher = await open();
    await watcher.request(1, "monitor.watch", { execution_id: id });
    await watcher.waitFor((m) => m.method === "monitor.replayed");
    const socket = (watcher.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    // Long enough to fill the kernel's socket buffers and back up the server; short of the limit.
    const start = received(owner);
    await waitUntil(() => received(owner) - start > 48 * MiB, 30_000, "48 MiB of output");
    socket.resume();
    const replayedAt = watcher.messages.findIndex((m) => m.method === "monitor.replayed");
    const dropped = await watcher.waitFor((m) => m.method === "monitor.dropped" && watcher.messages.indexOf(m) > replayedAt, 10_000);
    expect(dropped.params.held).toBe(dropped.params.resent + dropped.params.lost);
    expect(dropped.params.resent).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    await owner.request(2, "control", { type: "CANCEL" });
    await watcher.waitFor((m) => m.method === "process.completed" && m.params.watched_id === id);
    expect(watcher.closed).toBeUndefined();
    // What follows the notice until the next one (if it fell behind again) starts with the `resent` ones.
    const rest = watcher.messages.slice(watcher.messages.indexOf(dropped) + 1);
    const next = rest.findIndex((m) => m.method === "monitor.dropped");
    const resent = (next === -1 ? rest : rest.slice(0, next)).slice(0, dropped.params.resent);
    expect(watcher.messages.some((m) => m.params?.resent === true)).toBe(true);
    expect(resent.every((m) => m.params.resent === true && m.params.watched_id === id)).toBe(true);
    // Output chunks reach the watcher in order, each once.
    const seqs = watcher.notifications("process.output").map((m) => m.params.seq as number);
    seqs.slice(1).forEach((s, i) => expect(s).toBeGreaterThan(seqs[i]!));
    await owner.close();
    await watcher.close();
  }, 60_000);
});

describe("a client that sends requests and never reads the answers", () => {
  it("is disconnected with close 4008 once its queue passes CC_EXECUTOR_MAX_CLIENT_QUEUE; the server stays usable", async () => {
    const srv = await startTestServer({ maxClientQueueBytes: MiB });
    try {
      const greedy = await RawPeer.open(srv.url, { token: srv.token });
      await greedy.waitFor((m) => m.method === "connected");
      const socket = (greedy.ws as unknown as { _socket: Socket })._socket;
      socket.pause();
      // ~1 KiB answers: well past the socket buffers (a few MiB on loopback) and the 1 MiB limit.
      for (let i = 0; i < 20_000; i++) greedy.send({ jsonrpc: "2.0", id: i, method: "health" });
      // The server gives up on it at once (its socket is closed once the close frame is read, or after 30 s).
      await waitUntil(() => [...srv.sessions].every((session) => session.isClosed), 30_000, "the server to give up on the greedy session");
      socket.resume();
      await waitUntil(() => greedy.closed !== undefined, 30_000, "the close frame");
      expect(greedy.closed).toEqual({ code: 4008, reason: expect.stringMatching(/too slow/) });
      const answered = greedy.messages.filter((m) => m.id !== undefined).length;
      expect(answered).toBeGreaterThan(0);
      expect(answered).toBeLessThan(20_000);

      const polite = await RawPeer.open(srv.url, { token: srv.token });
      expect((await polite.request(1, "health", {})).result.status).toBeDefined();
      await polite.close();
    } finally {
      await srv.cleanup();
    }
  }, 90_000);
});
