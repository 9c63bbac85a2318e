/**
 * The server's memory (RSS, from /proc), each figure against a floor measured in the same run:
 *  1. a fresh server, idle (1 s after it answered /health), vs `node -e 0` at its exit;
 *  2. the same server 1 s after streaming one BENCH_MB (200) MB stream to a client, vs the same floor;
 *  2b. the same for a server started as `server start --daemon` starts it (glibc malloc tuned, see
 *     src/process/malloc-tuning.ts);
 *  3. while a process floods (5 s of `yes`) a client that stopped reading, vs the same server just
 *     before: backpressure keeps the growth near zero.
 * A fresh server per run. Usage: npx tsx bench/memory-bench.ts   (or: npx tsx bench/run-all.ts memory)
 */
import { execFileSync } from "node:child_process";
import type { Socket } from "node:net";
import { RawPeer } from "../test/helpers/server.js";
import { rssBytes, spawnServerProcess } from "../test/helpers/server-process.js";
import { MALLOC_TUNING, withServerMallocTuning } from "../src/process/malloc-tuning.js";
import { isMain, printFigures, repeat, type Figure } from "./lib.js";
import { streamToClient } from "./stream-bench.js";

const MB = Number(process.env.BENCH_MB ?? 200);
const MiB = 1024 * 1024;
const FLOOD_MS = Number(process.env.BENCH_FLOOD_MS ?? 5000);
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS of a bare `node -e 0` just before it exits. */
export function nodeFloorRss(): number {
  return Number(execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.memoryUsage.rss()))"], { encoding: "utf8" }));
}

async function floodRss(url: string, token: string, pid: number): Promise<{ before: number; peak: number }> {
  const peer = await RawPeer.open(url, { token });
  await peer.waitFor((m) => m.method === "connected");
  const before = rssBytes(pid);
  (peer.ws as unknown as { _socket: Socket })._socket.pause();
  peer.send({ jsonrpc: "2.0", id: 1, method: "execute", params: { command: "yes flood-flood-flood-flood" } });
  let peak = 0;
  for (let t = 0; t < FLOOD_MS; t += 100) {
    await settle(100);
    peak = Math.max(peak, rssBytes(pid));
  }
  peer.ws.terminate();
  return { before, peak };
}

export async function run(): Promise<Figure[]> {
  let pid = 0;
  return repeat(
    "memory",
    async () => {
      const floor = nodeFloorRss();
      const server = await spawnServerProcess();
      pid = server.pid;
      try {
        await settle(1000);
        const idle = rssBytes(server.pid);
        await streamToClient(server.url, server.token, MB, "text");
        await settle(1000);
        const after = rssBytes(server.pid);
        const flood = await floodRss(server.url, server.token, server.pid);
        const tuned = await spawnServerProcess(withServerMallocTuning({}));
        let afterTuned: number;
        try {
          await streamToClient(tuned.url, tuned.token, MB, "text");
          await settle(1000);
          afterTuned = rssBytes(tuned.pid);
        } finally {
          await tuned.stop();
        }
        return [
          { metric: "server RSS, idle after start", unit: "MiB", ours: idle / MiB, floor: floor / MiB, note: "floor: node -e 0" },
          { metric: `server RSS after one ${MB} MB stream`, unit: "MiB", ours: after / MiB, floor: floor / MiB, note: "1 s after the stream ended; floor: node -e 0" },
          { metric: `server RSS after one ${MB} MB stream, started as --daemon starts it`, unit: "MiB", ours: afterTuned / MiB, floor: floor / MiB, note: `1 s after; ${Object.entries(MALLOC_TUNING).map(([k, v]) => `${k}=${v}`).join(" ")} (glibc); floor: node -e 0` },
          { metric: `server RSS during a ${FLOOD_MS / 1000} s flood to a client that stopped reading, peak`, unit: "MiB", ours: flood.peak / MiB, floor: flood.before / MiB, note: "floor: the same server just before" },
        ];
      } finally {
        await server.stop();
      }
    },
    { pids: () => (pid ? [pid] : []) },
  );
}

if (isMain(import.meta.url)) printFigures(await run());
