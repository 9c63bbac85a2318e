/**
 * Foundation benchmarks, each against a baseline measured in the same run:
 *  1. latency from `execute` sent to `process.started` received, vs a bare child_process.spawn
 *     of the same command until its 'spawn' event;
 *  2. streamed MB/s of a large output to a WebSocket client, vs reading the same output from a raw pipe;
 *  3. server RSS while a process floods a client that does not read, vs the idle server's RSS.
 */
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import { ExecutorClient } from "../src/client/index.js";
import { figure, ms, printFigures, summarize, type Figure } from "./lib.js";
import { RawPeer } from "../test/helpers/server.js";
import { rssBytes, spawnServerProcess } from "../test/helpers/server-process.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const MB = Number(process.env.BENCH_MB ?? 200);

async function bareSpawnLatency(rounds: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    const child = spawn("/bin/sh", ["-c", "true"], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    await new Promise((r) => child.once("spawn", r));
    samples.push(ms(process.hrtime.bigint() - t0));
    await new Promise((r) => child.once("close", r));
  }
  return samples;
}

/** execute -> process.started, measured on a raw socket so that nothing of ours sits in between. */
async function executeLatencyRaw(url: string, token: string, rounds: number): Promise<number[]> {
  const peer = await RawPeer.open(url, { token });
  await peer.waitFor((m) => m.method === "connected");
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const before = peer.messages.length;
    const t0 = process.hrtime.bigint();
    peer.send({ jsonrpc: "2.0", id: i, method: "execute", params: { command: "true", shell: "sh" } });
    await peer.waitFor((m) => m.method === "process.started" && peer.messages.indexOf(m) >= before);
    samples.push(ms(process.hrtime.bigint() - t0));
    await peer.waitFor((m) => m.method === "process.completed" && peer.messages.indexOf(m) >= before);
    peer.messages.length = 0;
  }
  await peer.close();
  return samples;
}

const writer = (mb: number) => `const b=Buffer.alloc(1<<20,97);let n=0;(function w(){while(n<${mb}){n++;if(!process.stdout.write(b))return process.stdout.once('drain',w)}})()`;

async function rawPipeThroughput(mb: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, ["-e", writer(mb)], { stdio: ["ignore", "pipe", "ignore"] });
  let bytes = 0;
  child.stdout.on("data", (d: Buffer) => (bytes += d.length));
  await new Promise((r) => child.once("close", r));
  return bytes / 1024 / 1024 / (ms(process.hrtime.bigint() - t0) / 1000);
}

async function streamedThroughput(url: string, token: string, mb: number): Promise<number> {
  const client = await ExecutorClient.connect({ url, token });
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  const res = await client.execute([process.execPath, "-e", writer(mb)], { onOutput: (c) => (bytes += Buffer.byteLength(c.data)), maxBuffer: 1024 });
  const seconds = ms(process.hrtime.bigint() - t0) / 1000;
  await client.close();
  if (!res.success || bytes !== mb * 1024 * 1024) throw new Error(`stream incomplete: ${bytes} bytes, ${res.status}`);
  return bytes / 1024 / 1024 / seconds;
}

async function floodRss(url: string, token: string, pid: number): Promise<{ idle: number; peak: number }> {
  const peer = await RawPeer.open(url, { token });
  await peer.waitFor((m) => m.method === "connected");
  const idle = rssBytes(pid);
  (peer.ws as unknown as { _socket: Socket })._socket.pause();
  peer.send({ jsonrpc: "2.0", id: 1, method: "execute", params: { command: "yes flood-flood-flood-flood" } });
  let peak = 0;
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    peak = Math.max(peak, rssBytes(pid));
  }
  peer.ws.terminate();
  return { idle, peak };
}

export async function run(): Promise<Figure[]> {
  const server = await spawnServerProcess();
  try {
    const figures: Figure[] = [];
    await executeLatencyRaw(server.url, server.token, 20); // warm-up
    await bareSpawnLatency(20);
    const bare = summarize(await bareSpawnLatency(ROUNDS));
    const ours = summarize(await executeLatencyRaw(server.url, server.token, ROUNDS));
    figures.push(figure("latency", `execute->process.started p50 (n=${ROUNDS})`, ours.p50, bare.p50, "ms", `difference ${(ours.p50 - bare.p50).toFixed(2)} ms`));
    figures.push(figure("latency", "execute->process.started p99", ours.p99, bare.p99, "ms", `difference ${(ours.p99 - bare.p99).toFixed(2)} ms`));

    const raw = await rawPipeThroughput(MB);
    const streamed = await streamedThroughput(server.url, server.token, MB);
    figures.push(figure("throughput", `${MB} MB streamed to a WS client`, streamed, raw, "MB/s", "baseline: same output read from a raw pipe"));

    const { idle, peak } = await floodRss(server.url, server.token, server.pid);
    figures.push(figure("memory", "server RSS, 5 s flood to a paused reader", peak / 1024 / 1024, idle / 1024 / 1024, "MiB", `growth ${((peak - idle) / 1024 / 1024).toFixed(1)} MiB`));
    return figures;
  } finally {
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printFigures(await run());
}
