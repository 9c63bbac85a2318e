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
import { bareSpawner, BUILT_SERVER_MODULE, isMain, ms, printFigures, repeat, serverContainment, summarize, type Figure, type Measured } from "./lib.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);

/** Floor: bare spawns until their 'spawn' event, in a plain node process of their own (bench/bare-spawner.mjs). */
export async function bareSpawnLatency(rounds: number, options: { load?: string } = {}): Promise<number[]> {
  return (await bareSpawner<{ latencies: number[] }>(["latency", String(rounds)], options)).latencies;
}

/**
 * `rounds` executions of `true` one after another on a raw socket: for each, the time from
 * `execute` sent to process.started received, and to process.completed received.
 */
export async function executeTimes(url: string, token: string, rounds: number): Promise<{ started: number[]; completed: number[] }> {
  const peer = await RawPeer.open(url, { token });
  await peer.waitFor((m) => m.method === "connected");
  const started: number[] = [];
  const completed: number[] = [];
  for (let i = 0; i < rounds; i++) {
    peer.messages.length = 0;
    const t0 = process.hrtime.bigint();
    peer.send({ jsonrpc: "2.0", id: i, method: "execute", params: { command: "true", shell: "sh" } });
    await peer.waitFor((m) => m.method === "process.started");
    started.push(ms(process.hrtime.bigint() - t0));
    await peer.waitFor((m) => m.method === "process.completed");
    completed.push(ms(process.hrtime.bigint() - t0));
  }
  await peer.close();
  return { started, completed };
}

export async function run(): Promise<Figure[]> {
  const server = await spawnServerProcess();
  // Where the default is a cgroup per execution, the same server with process groups, side by side: what the cgroup costs.
  const containment = await serverContainment(server.port, server.token);
  const pg = containment === "cgroup" ? await spawnServerProcess({ CC_EXECUTOR_CONTAINMENT: "process-group" }) : undefined;
  try {
    for (const s of [server, pg]) if (s) await executeTimes(s.url, s.token, 20); // warm-up
    await bareSpawnLatency(20);
    return await repeat(
      "latency",
      async () => {
        // interleaved halves, so that a change in the machine's load hits every side alike
        const bare: number[] = [];
        const bareLoaded: number[] = [];
        const ours = { started: [] as number[], completed: [] as number[] };
        const oursPg = { started: [] as number[], completed: [] as number[] };
        const add = (to: typeof ours, from: typeof ours) => {
          to.started.push(...from.started);
          to.completed.push(...from.completed);
        };
        for (let half = 0; half < 2; half++) {
          bare.push(...(await bareSpawnLatency(ROUNDS / 2)));
          bareLoaded.push(...(await bareSpawnLatency(ROUNDS / 2, { load: BUILT_SERVER_MODULE })));
          add(ours, await executeTimes(server.url, server.token, ROUNDS / 2));
          if (pg) add(oursPg, await executeTimes(pg.url, pg.token, ROUNDS / 2));
        }
        const b = summarize(bare);
        const o = summarize(ours.started);
        const figures: Measured[] = [
          { metric: `execute -> process.started, p50 (${ROUNDS} rounds)`, unit: "ms", ours: o.p50, floor: b.p50, note: `floor: bare spawn of the same command until its 'spawn' event, from a plain node process; server containment: ${containment}` },
          { metric: "execute -> process.started, p99", unit: "ms", ours: o.p99, floor: b.p99 },
          { metric: "execute -> process.started, p50, vs a bare spawn from a node process that loaded the server's modules", unit: "ms", ours: o.p50, floor: summarize(bareLoaded).p50, note: "floor: the same bare spawns after importing dist/server/index.js (every fork copies the mappings of the code loaded)" },
        ];
        if (pg) {
          figures.push({ metric: "execute -> process.started, p50, process-group containment", unit: "ms", ours: summarize(oursPg.started).p50, floor: b.p50, note: "the same with CC_EXECUTOR_CONTAINMENT=process-group" });
          figures.push({ metric: "execute -> process.completed of `true`, p50: cgroup vs process group", unit: "ms", ours: summarize(ours.completed).p50, floor: summarize(oursPg.completed).p50, note: "the round trip of a short command; floor: the same server code with process groups" });
        }
        return figures;
      },
      { pids: () => [server.pid, ...(pg ? [pg.pid] : [])] },
    );
  } finally {
    await server.stop();
    await pg?.stop();
  }
}

if (isMain(import.meta.url)) printFigures(await run());
