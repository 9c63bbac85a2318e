/**
 * Many streams at once, against the real server process, each figure against a floor measured in
 * the same run:
 *  1. LOAD_STREAMS (20) sessions at once, each streaming `head -c LOAD_STREAM_BYTES /dev/urandom | base64`
 *     (20 MB of random bytes: 27 MB of text) at full speed: aggregate MB/s vs the same 20 commands
 *     read from raw pipes in this process. Every stream is checked: the sha256 of what arrived
 *     against the one the command prints itself, and the `seq` of every chunk (no loss, no reordering);
 *  2. the server's RSS during (1) vs idle.
 * (Many sessions running short commands: bench/sessions-bench.ts.)
 * Usage: npx tsx bench/load-bench.ts   (or: npx tsx bench/run-all.ts load)
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { ExecutorClient } from "../src/client/index.js";
import { rssBytes, spawnServerProcess } from "../test/helpers/server-process.js";
import { isMain, ms, printFigures, repeat, type Figure } from "./lib.js";

const STREAMS = Number(process.env.LOAD_STREAMS ?? 20);
const STREAM_BYTES = Number(process.env.LOAD_STREAM_BYTES ?? 20_000_000);

/** Prints `bytes` random bytes as base64 on stdout, at full speed, then its own sha256 on stderr. */
export const streamCommand = (bytes: number) => `f=$(mktemp) && head -c ${bytes} /dev/urandom | base64 | tee "$f" && sha256sum < "$f" | cut -c1-64 >&2; rm -f "$f"`;

export interface StreamResult {
  /** Bytes of stdout received, over all streams. */
  bytes: number;
  wallMs: number;
  /** Streams whose checksum, chunk sequence or status was wrong (must stay empty). */
  wrong: string[];
  /** Peak RSS of the server while streaming (when its pid is given). */
  peakRss?: number;
}

/** `streams` sessions at once, each running streamCommand(bytes) and checking what arrives. */
export async function manyStreams(url: string, token: string, streams: number, bytes: number, serverPid?: number): Promise<StreamResult> {
  const clients = await Promise.all(Array.from({ length: streams }, () => ExecutorClient.connect({ url, token })));
  const wrong: string[] = [];
  let total = 0;
  let peakRss = 0;
  const sampler = serverPid ? setInterval(() => (peakRss = Math.max(peakRss, rssBytes(serverPid))), 100) : undefined;
  const t0 = process.hrtime.bigint();
  try {
    await Promise.all(
      clients.map(async (client, n) => {
        const hash = createHash("sha256");
        let stderr = "";
        let nextSeq = 0;
        let received = 0;
        let status = "";
        for await (const ev of client.stream(streamCommand(bytes), { timeout: 300, shell: "sh" })) {
          if (ev.method === "process.output") {
            const p = ev.params as { type: "stdout" | "stderr"; data: string; seq: number };
            if (p.seq !== nextSeq) wrong.push(`stream ${n}: chunk seq ${p.seq}, expected ${nextSeq}`);
            nextSeq = p.seq + 1;
            if (p.type === "stdout") {
              hash.update(p.data);
              received += Buffer.byteLength(p.data);
            } else stderr += p.data;
          } else if (ev.method === "process.completed") status = String((ev.params as { status: string }).status);
        }
        total += received;
        const expected = stderr.trim();
        const got = hash.digest("hex");
        if (status !== "completed" || !/^[0-9a-f]{64}$/.test(expected) || got !== expected) wrong.push(`stream ${n}: status ${status}, sha256 ${got} vs the command's ${expected || "(none)"}, ${received} bytes`);
      }),
    );
  } finally {
    if (sampler) clearInterval(sampler);
    await Promise.all(clients.map((c) => c.close()));
  }
  return { bytes: total, wallMs: ms(process.hrtime.bigint() - t0), wrong, peakRss: serverPid ? peakRss : undefined };
}

/** Baseline of (2): the same commands read from raw pipes in this process, hashed the same way. */
export async function bareStreams(streams: number, bytes: number): Promise<StreamResult> {
  const wrong: string[] = [];
  let total = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: streams }, async (_, n) => {
      const child = spawn("/bin/sh", ["-c", streamCommand(bytes)], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
      const hash = createHash("sha256");
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => {
        hash.update(d);
        total += d.length;
      });
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      await new Promise((r) => child.once("close", r));
      if (hash.digest("hex") !== stderr.trim()) wrong.push(`bare stream ${n}`);
    }),
  );
  return { bytes: total, wallMs: ms(process.hrtime.bigint() - t0), wrong };
}

const MB = 1024 * 1024;

export async function run(): Promise<Figure[]> {
  const limit = String(STREAMS + 10);
  const server = await spawnServerProcess({ MAX_SESSIONS: limit, CC_EXECUTOR_MAX_PROCESSES: limit });
  try {
    await manyStreams(server.url, server.token, 2, 1_000_000); // warm-up
    return await repeat(
      "load",
      async () => {
        const idle = rssBytes(server.pid);
        const rawStreams = await bareStreams(STREAMS, STREAM_BYTES);
        const streamed = await manyStreams(server.url, server.token, STREAMS, STREAM_BYTES, server.pid);
        if (streamed.wrong.length > 0 || rawStreams.wrong.length > 0) throw new Error(`corrupted streams: ${[...streamed.wrong, ...rawStreams.wrong].slice(0, 5).join("; ")}`);
        const mbps = (r: StreamResult) => r.bytes / MB / (r.wallMs / 1000);
        return [
          { metric: `${STREAMS} streams x ${STREAM_BYTES / 1e6} MB random (base64) at once, aggregate`, unit: "MB/s", ours: mbps(streamed), floor: mbps(rawStreams), note: `${(streamed.bytes / MB).toFixed(0)} MB, every sha256 and chunk seq checked; floor: the same commands read from raw pipes` },
          { metric: "server RSS while streaming, peak vs before", unit: "MiB", ours: streamed.peakRss! / MB, floor: idle / MB },
        ];
      },
      { pids: () => [server.pid] },
    );
  } finally {
    await server.stop();
  }
}

if (isMain(import.meta.url)) printFigures(await run());
