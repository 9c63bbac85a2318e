/**
 * Load, each figure against a baseline measured in the same run on the same machine:
 *  1. LOAD_SESSIONS (200) WebSocket sessions at once, each running LOAD_COMMANDS (5) short shell
 *     commands one after another: latency from `execute` sent to `process.completed` received,
 *     vs the same number of concurrent bare `child_process.spawn`s of the same command until 'close';
 *  2. LOAD_STREAMS (20) sessions at once, each streaming `head -c LOAD_STREAM_BYTES /dev/urandom | base64`
 *     (20 MB of random bytes: 27 MB of text) at full speed: aggregate MB/s vs the same 20 commands
 *     read from raw pipes in this process. Every stream is checked: the sha256 of what arrived
 *     against the one the command prints itself, and the `seq` of every chunk (no loss, no reordering);
 *  3. the server's RSS during (2) vs idle.
 * Usage: npx tsx bench/load-bench.ts   (or: npx tsx bench/run-all.ts load)
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { ExecutorClient } from "../src/client/index.js";
import { rssBytes, spawnServerProcess } from "../test/helpers/server-process.js";
import { figure, ms, printFigures, summarize, type Figure } from "./lib.js";

const SESSIONS = Number(process.env.LOAD_SESSIONS ?? 200);
const COMMANDS = Number(process.env.LOAD_COMMANDS ?? 5);
const STREAMS = Number(process.env.LOAD_STREAMS ?? 20);
const STREAM_BYTES = Number(process.env.LOAD_STREAM_BYTES ?? 20_000_000);

export interface SessionsResult {
  /** ms from execute sent to process.completed received, every command of every session. */
  latencies: number[];
  /** Descriptions of results that were not what the command prints (must stay empty). */
  wrong: string[];
  wallMs: number;
}

/** The short command session `s` runs as its `i`th: prints a unique tag. */
const shortCommand = (s: number, i: number) => `printf 's%d-c%d' ${s} ${i}`;

/** `sessions` clients connected at once, each running `commands` short commands one after another. */
export async function manySessions(url: string, token: string, sessions: number, commands: number): Promise<SessionsResult> {
  const clients = await Promise.all(Array.from({ length: sessions }, () => ExecutorClient.connect({ url, token })));
  const latencies: number[] = [];
  const wrong: string[] = [];
  const t0 = process.hrtime.bigint();
  try {
    await Promise.all(
      clients.map(async (client, s) => {
        for (let i = 0; i < commands; i++) {
          const start = process.hrtime.bigint();
          const r = await client.execute(shortCommand(s, i), { timeout: 60, shell: "sh" });
          latencies.push(ms(process.hrtime.bigint() - start));
          if (r.status !== "completed" || r.stdout !== `s${s}-c${i}`) wrong.push(`session ${s} command ${i}: ${r.status} ${JSON.stringify(r.stdout)}`);
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  return { latencies, wrong, wallMs: ms(process.hrtime.bigint() - t0) };
}

/** Baseline of (1): the same commands spawned directly, as many at once, until 'close'. */
export async function bareSessions(sessions: number, commands: number): Promise<SessionsResult> {
  const latencies: number[] = [];
  const wrong: string[] = [];
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: sessions }, async (_, s) => {
      for (let i = 0; i < commands; i++) {
        const start = process.hrtime.bigint();
        const child = spawn("/bin/sh", ["-c", shortCommand(s, i)], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        await new Promise((r) => child.once("close", r));
        latencies.push(ms(process.hrtime.bigint() - start));
        if (out !== `s${s}-c${i}`) wrong.push(`bare ${s}/${i}: ${out}`);
      }
    }),
  );
  return { latencies, wrong, wallMs: ms(process.hrtime.bigint() - t0) };
}

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
  const limits = { MAX_SESSIONS: String(SESSIONS + STREAMS + 10), CC_EXECUTOR_MAX_PROCESSES: String(SESSIONS + STREAMS + 10) };
  const server = await spawnServerProcess(limits);
  try {
    const figures: Figure[] = [];
    await manySessions(server.url, server.token, 10, 2); // warm-up
    const bare = await bareSessions(SESSIONS, COMMANDS);
    const ours = await manySessions(server.url, server.token, SESSIONS, COMMANDS);
    if (ours.wrong.length > 0 || bare.wrong.length > 0) throw new Error(`wrong results: ${[...ours.wrong, ...bare.wrong].slice(0, 5).join("; ")}`);
    const o = summarize(ours.latencies);
    const b = summarize(bare.latencies);
    const n = `${SESSIONS} sessions x ${COMMANDS}`;
    figures.push(figure("load", `command latency p50 (${n})`, o.p50, b.p50, "ms", "baseline: as many bare spawns at once"));
    figures.push(figure("load", "command latency p99", o.p99, b.p99, "ms"));
    figures.push(figure("load", "wall time for all commands", ours.wallMs, bare.wallMs, "ms", `${((SESSIONS * COMMANDS) / (ours.wallMs / 1000)).toFixed(0)} commands/s through the server`));

    const idle = rssBytes(server.pid);
    const rawStreams = await bareStreams(STREAMS, STREAM_BYTES);
    const streamed = await manyStreams(server.url, server.token, STREAMS, STREAM_BYTES, server.pid);
    if (streamed.wrong.length > 0 || rawStreams.wrong.length > 0) throw new Error(`corrupted streams: ${[...streamed.wrong, ...rawStreams.wrong].slice(0, 5).join("; ")}`);
    const mbps = (r: StreamResult) => r.bytes / MB / (r.wallMs / 1000);
    figures.push(figure("load", `${STREAMS} streams x ${(STREAM_BYTES / 1e6).toFixed(0)} MB random (base64), aggregate`, mbps(streamed), mbps(rawStreams), "MB/s", `${(streamed.bytes / MB).toFixed(0)} MB, every sha256 and chunk seq checked`));
    figures.push(figure("load", "server RSS while streaming", streamed.peakRss! / MB, idle / MB, "MiB", `growth ${((streamed.peakRss! - idle) / MB).toFixed(1)} MiB`));
    return figures;
  } finally {
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printFigures(await run());
}
