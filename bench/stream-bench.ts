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
          const ms = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;
          out.push({ metric: `one ${MB} MB stream of ${what} to a client`, unit: "MB/s", ours: rate(oursBytes, oursMs), floor: rate(rawBytes, floorMs), note: "floor: the same output read from a raw pipe in the same run" });
          // CPU time is what the machine's other load changes least: where the throughput goes when cores are shared.
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
