/**
 * `execute` sent to `process.started` received, over a raw WebSocket (nothing of our client in
 * between), BENCH_ROUNDS (200) executions one after another against the real server process, vs a
 * bare child_process.spawn of the same command (own process group, both pipes) until its 'spawn'
 * event, in the same run, from a plain node process (bench/bare-spawner.mjs). The difference is
 * what the server adds before a process is announced.
 * Usage: npx tsx bench/latency-bench.ts   (or: npx tsx bench/run-all.ts latency)
 */
import { RawPeer } from "../test/helpers/server.js";
import { spawnServerProcess } from "../test/helpers/server-process.js";
import { bareSpawner, isMain, ms, printFigures, repeat, serverContainment, summarize, type Figure } from "./lib.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);

/** Floor: bare spawns until their 'spawn' event, in a plain node process of their own (bench/bare-spawner.mjs). */
export async function bareSpawnLatency(rounds: number): Promise<number[]> {
  return (await bareSpawner<{ latencies: number[] }>("latency", String(rounds))).latencies;
}

/** execute -> process.started, on a raw socket; waits for process.completed before the next round. */
export async function executeLatency(url: string, token: string, rounds: number): Promise<number[]> {
  const peer = await RawPeer.open(url, { token });
  await peer.waitFor((m) => m.method === "connected");
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    peer.messages.length = 0;
    const t0 = process.hrtime.bigint();
    peer.send({ jsonrpc: "2.0", id: i, method: "execute", params: { command: "true", shell: "sh" } });
    await peer.waitFor((m) => m.method === "process.started");
    samples.push(ms(process.hrtime.bigint() - t0));
    await peer.waitFor((m) => m.method === "process.completed");
  }
  await peer.close();
  return samples;
}

export async function run(): Promise<Figure[]> {
  const server = await spawnServerProcess();
  try {
    await executeLatency(server.url, server.token, 20); // warm-up
    await bareSpawnLatency(20);
    const containment = await serverContainment(server.port, server.token);
    return await repeat(
      "latency",
      async () => {
        // interleaved halves, so that a change in the machine's load hits both sides alike
        const bare = await bareSpawnLatency(ROUNDS / 2);
        const ours = await executeLatency(server.url, server.token, ROUNDS / 2);
        bare.push(...(await bareSpawnLatency(ROUNDS / 2)));
        ours.push(...(await executeLatency(server.url, server.token, ROUNDS / 2)));
        const [b, o] = [summarize(bare), summarize(ours)];
        return [
          { metric: `execute -> process.started, p50 (${ROUNDS} rounds)`, unit: "ms", ours: o.p50, floor: b.p50, note: `floor: bare spawn of the same command until its 'spawn' event, from a plain node process; server containment: ${containment}` },
          { metric: "execute -> process.started, p99", unit: "ms", ours: o.p99, floor: b.p99 },
        ];
      },
      { pids: () => [server.pid] },
    );
  } finally {
    await server.stop();
  }
}

if (isMain(import.meta.url)) printFigures(await run());
