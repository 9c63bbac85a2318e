import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "node:net";
import { RawPeer } from "../helpers/server.js";
import { rssBytes, spawnServerProcess, type ServerProcess } from "../helpers/server-process.js";

let server: ServerProcess;
beforeAll(async () => {
  server = await spawnServerProcess();
});
afterAll(async () => {
  await server.stop();
});

describe("backpressure", () => {
  it("a flooding process and a client that stops reading do not grow the server's memory; nothing is lost", async () => {
    const peer = await RawPeer.open(server.url, { token: server.token });
    await peer.waitFor((m) => m.method === "connected");
    const baseline = rssBytes(server.pid);
    const socket = (peer.ws as unknown as { _socket: Socket })._socket;
    // Numbered lines as fast as the pipe takes them: any loss or reordering shows as a gap.
    await peer.request(1, "execute", { command: ["node", "-e", "let i=0;const w=()=>{let ok=true;while(ok){ok=process.stdout.write((i++)+'\\n'.repeat(1)+'x'.repeat(1000)+'\\n')}process.stdout.once('drain',w)};w()"] });
    await peer.waitFor((m) => m.method === "process.output");
    socket.pause();
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, rssBytes(server.pid));
    }
    socket.resume();
    await new Promise((r) => setTimeout(r, 500));
    await peer.request(2, "control", { type: "CANCEL" });
    await peer.waitFor((m) => m.method === "process.completed");
    const text = peer.notifications("process.output").map((m) => m.params.data).join("");
    const numbers = text.split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
    expect(numbers.length).toBeGreaterThan(1000);
    numbers.forEach((n, i) => expect(n).toBe(i));
    // Without flow control the server would buffer hundreds of MB in 3 s; with it, a few MB at most.
    expect(peak - baseline).toBeLessThan(64 * 1024 * 1024);
    await peer.close();
  }, 60_000);

  it("the same holds for a direct task of a task list", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-flood-"));
    writeFileSync(join(dir, "flood.js"), "let i=0;const w=()=>{let ok=true;while(ok){ok=process.stdout.write((i++)+'\\n'+'x'.repeat(1000)+'\\n')}process.stdout.once('drain',w)};w()\n");
    const peer = await RawPeer.open(server.url, { token: server.token });
    await peer.waitFor((m) => m.method === "connected");
    const baseline = rssBytes(server.pid);
    const socket = (peer.ws as unknown as { _socket: Socket })._socket;
    await peer.request(1, "run_task_list", { tasks: [{ command: `node ${join(dir, "flood.js")}`, timeout: 60 }], cwd: dir });
    await peer.waitFor((m) => m.method === "process.output");
    socket.pause();
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, rssBytes(server.pid));
    }
    socket.resume();
    await new Promise((r) => setTimeout(r, 500));
    await peer.request(2, "control", { type: "CANCEL" });
    await peer.waitFor((m) => m.method === "tasklist.completed");
    const text = peer.notifications("process.output").map((m) => m.params.data).join("");
    const numbers = text.split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
    expect(numbers.length).toBeGreaterThan(1000);
    numbers.forEach((n, i) => expect(n).toBe(i));
    expect(peak - baseline).toBeLessThan(64 * 1024 * 1024);
    await peer.close();
  }, 60_000);
});
