/**
 * One large stream to a client: BENCH_MB (200) MB of output from one command, received by our
 * client (ExecutorClient) through the real server process, in MB/s, against the floor of the same
 * output read from a raw pipe by this process in the same run.
 *
 * Two kinds of output: text lines (80 characters and a newline: what builds and logs print, and
 * every newline is escaped in JSON) and UTF-8 text with multi-byte characters on every line.
 * Usage: npx tsx bench/stream-bench.ts   (or: npx tsx bench/run-all.ts stream)
 */
import { spawn } from "node:child_process";
import { connect } from "node:net";
import WebSocket from "ws";
import { ExecutorClient } from "../src/client/index.js";
import { spawnServerProcess } from "../test/helpers/server-process.js";
import { isMain, printFigures, processCpuMs, repeat, timed, type Figure, type Measured } from "./lib.js";

const MB = Number(process.env.BENCH_MB ?? 200);
const MiB = 1024 * 1024;

/** A line of 80 characters and its newline, as bytes: ASCII, or with multi-byte characters. */
const LINES = {
  text: "0123456789 the quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmno",
  utf8: "Grüße aus Köln — 価格は¥1,000 — ✓ done 🚀 ok; naïve café façade; ½ ¾ € £ …… ok",
};
export type StreamKind = keyof typeof LINES;

/** A node one-liner printing `mb` MiB made of the kind's lines (whole lines, each MiB padded with newlines), at full speed, honouring backpressure. */
export function writerScript(mb: number, kind: StreamKind): string {
  return `const l=Buffer.from(${JSON.stringify(LINES[kind] + "\n")});const b=Buffer.alloc(1<<20,10);for(let i=0;i+l.length<=b.length;i+=l.length)l.copy(b,i);` +
    `let n=0;(function w(){while(n<${mb}){n++;if(!process.stdout.write(b))return process.stdout.once('drain',w)}})()`;
}

/** Floor: the writer's output read from a raw pipe by this process; returns bytes read. */
export async function rawPipeRead(mb: number, kind: StreamKind): Promise<number> {
  const child = spawn(process.execPath, ["-e", writerScript(mb, kind)], { stdio: ["ignore", "pipe", "ignore"] });
  let bytes = 0;
  child.stdout.on("data", (d: Buffer) => (bytes += d.length));
  await new Promise((r) => child.once("close", r));
  return bytes;
}

/**
 * Floors of the path itself: the writer's output relayed by a plain node process
 * (bench/relay-floor.mjs) to this process over loopback, as raw TCP or as binary WebSocket
 * messages: what Node costs for pipe -> socket -> client with nothing of ours. Returns bytes read.
 */
export async function nodeRelayRead(mb: number, kind: StreamKind, mode: "tcp" | "ws"): Promise<number> {
  const script = new URL("./relay-floor.mjs", import.meta.url).pathname;
  const relay = spawn(process.execPath, [script, mode, writerScript(mb, kind)], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) => relay.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
  let bytes = 0;
  if (mode === "tcp") {
    const socket = connect(port, "127.0.0.1");
    socket.on("data", (d: Buffer) => (bytes += d.length));
    await new Promise((r) => socket.once("close", r));
  } else {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    ws.on("message", (d: Buffer) => (bytes += d.length));
    await new Promise((r) => ws.once("close", r));
  }
  await new Promise((r) => (relay.exitCode !== null ? r(undefined) : relay.once("close", r)));
  return bytes;
}

/**
 * What any client that hands the output over as JS strings pays at least: decoding the same bytes
 * (64 KiB at a time) with Buffer#toString in this process. Returns MB/s. For ASCII it is nearly
 * free; for multi-byte text V8's UTF-8 decoding is a bound of its own.
 */
export function decodeRate(mb: number, kind: StreamKind): number {
  const line = Buffer.from(LINES[kind] + "\n");
  const piece = Buffer.alloc(64 * 1024);
  for (let i = 0; i + line.length <= piece.length; i += line.length) line.copy(piece, i);
  const pieces = (mb * MiB) / piece.length;
  let chars = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < pieces; i++) chars += piece.toString("utf8").length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (chars === 0) throw new Error("nothing decoded");
  return mb / seconds;
}

/** Ours: the same output streamed by the server to our client, every byte counted. */
export async function streamToClient(url: string, token: string, mb: number, kind: StreamKind): Promise<number> {
  const client = await ExecutorClient.connect({ url, token });
  try {
    let bytes = 0;
    const res = await client.execute([process.execPath, "-e", writerScript(mb, kind)], { onOutput: (c) => (bytes += Buffer.byteLength(c.data)), maxBuffer: 1024 });
    if (!res.success || bytes !== mb * MiB) throw new Error(`stream incomplete: ${bytes} of ${mb * MiB} bytes, ${res.status}`);
    return bytes;
  } finally {
    await client.close();
  }
}

export async function run(): Promise<Figure[]> {
  const server = await spawnServerProcess();
  try {
    await streamToClient(server.url, server.token, Math.min(MB, 20), "text"); // warm-up
    const rate = (bytes: number, msTaken: number) => bytes / MiB / (msTaken / 1000);
    return await repeat(
      "stream",
      async () => {
        const out: Measured[] = [];
        for (const kind of ["text", "utf8"] as const) {
          let rawBytes = 0;
          let oursBytes = 0;
          const what = kind === "text" ? "text lines" : "UTF-8 multi-byte text";
          const cpu0 = process.cpuUsage();
          const floorMs = await timed(async () => (rawBytes = await rawPipeRead(MB, kind)));
          const cpu1 = process.cpuUsage();
          const server0 = processCpuMs(server.pid);
          const oursMs = await timed(async () => (oursBytes = await streamToClient(server.url, server.token, MB, kind)));
          const cpu2 = process.cpuUsage();
          const serverMs = processCpuMs(server.pid) - server0;
          const relayed = { tcp: 0, ws: 0 };
          const tcpMs = await timed(async () => (relayed.tcp = await nodeRelayRead(MB, kind, "tcp")));
          const wsMs = await timed(async () => (relayed.ws = await nodeRelayRead(MB, kind, "ws")));
          const ms = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;
          out.push({ metric: `one ${MB} MB stream of ${what} to a client`, unit: "MB/s", ours: rate(oursBytes, oursMs), floor: rate(rawBytes, floorMs), note: "floor: the same output read from a raw pipe in the same run" });
          // CPU time is what the machine's other load changes least: where the throughput goes when cores are shared.
          out.push({ metric: `  ${what}: ours vs a plain node relaying the pipe over loopback TCP`, unit: "MB/s", ours: rate(oursBytes, oursMs), floor: rate(relayed.tcp, tcpMs), note: "floor: bench/relay-floor.mjs tcp (writer, relay and reader: three processes, as ours)" });
          out.push({ metric: `  ${what}: ours vs a plain node relaying it as binary WebSocket messages`, unit: "MB/s", ours: rate(oursBytes, oursMs), floor: rate(relayed.ws, wsMs), note: "floor: bench/relay-floor.mjs ws (ws, no JSON, no UTF-8 handling)" });
          out.push({ metric: `  ${what}: ours vs decoding the same bytes to JS strings (Buffer#toString, one process)`, unit: "MB/s", ours: rate(oursBytes, oursMs), floor: decodeRate(MB, kind), note: "floor: the decoding alone that a client handing out strings cannot avoid" });
          out.push({ metric: `  server CPU per MB of ${what}, vs the raw reader's`, unit: "ms/MB", ours: serverMs / MB, floor: ms(cpu0, cpu1) / MB });
          out.push({ metric: `  client CPU per MB of ${what}, vs the raw reader's`, unit: "ms/MB", ours: ms(cpu1, cpu2) / MB, floor: ms(cpu0, cpu1) / MB });
        }
        return out;
      },
      { pids: () => [server.pid] },
    );
  } finally {
    await server.stop();
  }
}

if (isMain(import.meta.url)) printFigures(await run());
