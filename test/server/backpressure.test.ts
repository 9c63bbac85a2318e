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

/**
 * Starts a flood with `start`, stops reading the socket for 3 s while sampling the server's RSS,
 * reads again, cancels, waits for `endMethod`; returns the growth and the numbered lines received.
 */
async function floodWithPausedReader(start: (peer: RawPeer) => Promise<unknown>, endMethod: string): Promise<{ growth: number; numbers: number[] }> {
  const peer = await RawPeer.open(server.url, { token: server.token });
  await peer.waitFor((m) => m.method === "connected");
  const baseline = rssBytes(server.pid);
  const socket = (peer.ws as unknown as { _socket: Socket })._socket;
  await start(peer);
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
  await peer.waitFor((m) => m.method === endMethod);
  const text = peer.notifications("process.output").map((m) => m.params.data).join("");
  await peer.close();
  return { growth: peak - baseline, numbers: text.split("\n").filter((l) => /^\d+$/.test(l)).map(Number) };
}

// Numbered lines as fast as the pipe takes them: any loss or reordering shows as a gap.
const FLOOD = "let i=0;const w=()=>{let ok=true;while(ok){ok=process.stdout.write((i++)+'\\n'+'x'.repeat(1000)+'\\n')}process.stdout.once('drain',w)};w()";

describe("backpressure", () => {
  it("a flooding process and a client that stops reading do not grow the server's memory; nothing is lost", async () => {
    const { growth, numbers } = await floodWithPausedReader((peer) => peer.request(1, "execute", { command: ["node", "-e", FLOOD] }), "process.completed");
    expect(numbers.length).toBeGreaterThan(1000);
    numbers.forEach((n, i) => expect(n).toBe(i));
    // Without flow control the server would buffer hundreds of MB in 3 s; with it, a few MB at most.
    expect(growth).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);

  it("the same holds for a direct task of a task list", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-flood-"));
    writeFileSync(join(dir, "flood.js"), `${FLOOD}\n`);
    const { growth, numbers } = await floodWithPausedReader((peer) => peer.request(1, "run_task_list", { tasks: [{ command: `node ${join(dir, "flood.js")}`, timeout: 60 }], cwd: dir }), "tasklist.completed");
    expect(numbers.length).toBeGreaterThan(1000);
    numbers.forEach((n, i) => expect(n).toBe(i));
    expect(growth).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);
});
