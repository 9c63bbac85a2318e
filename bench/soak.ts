/**
 * Soak: SOAK_EXECUTIONS (10,000) sequential executions through one client against the real server
 * process (every 10th resumable, every 50th printing 10,000 lines), each result checked. Prints the
 * server's open fds (/proc/<pid>/fd) and RSS along the way, and as figures:
 *  - RSS at the end vs after the warm-up, and open fds at the end vs after the warm-up;
 *  - latency of the last 1,000 executions vs the first 1,000 (history growing must not slow it down);
 * It fails if any child of the server is left at the end (no zombies, no stragglers).
 * Usage: npx tsx bench/soak.ts   (or: npx tsx bench/run-all.ts soak); SOAK_EXECUTIONS=1000 for a short run,
 * SOAK_HEAP_MB=48 to run the server with its V8 heap capped (a leak then crashes it).
 */
import { readdirSync } from "node:fs";
import { ExecutorClient } from "../src/client/index.js";
import { processTable } from "../test/helpers/procs.js";
import { rssBytes, spawnServerProcess } from "../test/helpers/server-process.js";
import { figure, ms, printFigures, serverContainment, summarize, type Figure } from "./lib.js";

const N = Number(process.env.SOAK_EXECUTIONS ?? 10_000);
const WARMUP = 200;
const HEAP_MB = Number(process.env.SOAK_HEAP_MB ?? 0);
const MiB = 1024 * 1024;

export async function run(): Promise<Figure[]> {
  // SOAK_HEAP_MB caps the server's V8 heap: a leak then ends in an out-of-memory crash instead of a slow climb.
  const server = await spawnServerProcess(HEAP_MB ? { NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` } : {});
  const fds = () => readdirSync(`/proc/${server.pid}/fd`).length;
  const lines = Array.from({ length: 10_000 }, (_, i) => `${i + 1}\n`).join("");
  try {
    const containment = await serverContainment(server.port, server.token);
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    for (let i = 0; i < WARMUP; i++) await client.execute(["true"]);
    const fd0 = fds();
    const rss0 = rssBytes(server.pid);
    let rssPeak = rss0;
    const latencies: number[] = [];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      const start = process.hrtime.bigint();
      const big = i % 50 === 49;
      const r = big ? await client.execute("seq 1 10000", { timeout: 30 }) : await client.execute(["printf", `n${i}`], { timeout: 30, resumable: i % 10 === 9 });
      latencies.push(ms(process.hrtime.bigint() - start));
      if (r.status !== "completed" || r.stdout !== (big ? lines : `n${i}`)) throw new Error(`execution ${i}: ${r.status} ${r.stdout.slice(0, 80)}`);
      if ((i + 1) % Math.max(1, Math.floor(N / 10)) === 0) {
        const rss = rssBytes(server.pid);
        rssPeak = Math.max(rssPeak, rss);
        console.log(`soak ${String(i + 1).padStart(6)}: fds ${fds()}  RSS ${(rss / MiB).toFixed(1)} MiB  last p50 ${summarize(latencies.slice(-1000)).p50.toFixed(2)} ms`);
      }
    }
    const wallS = ms(process.hrtime.bigint() - t0) / 1000;
    const fd1 = fds();
    const rss1 = rssBytes(server.pid);
    await client.close();
    const left = processTable().filter((p) => p.ppid === server.pid);
    if (left.length > 0) throw new Error(`children of the server left after the soak: ${left.map((p) => `${p.pid} ${p.state} ${p.cmdline}`).join("; ")}`);
    const first = summarize(latencies.slice(0, Math.min(1000, N)));
    const last = summarize(latencies.slice(-Math.min(1000, N)));
    return [
      figure("soak", `server RSS after ${N} executions`, rss1 / MiB, rss0 / MiB, "MiB", `vs after ${WARMUP} warm-up; growth ${((rss1 - rss0) / MiB).toFixed(1)} MiB, peak ${(rssPeak / MiB).toFixed(1)} MiB`),
      figure("soak", "server open fds at the end", fd1, fd0, "fds", "vs after the warm-up"),
      figure("soak", "latency p50, last 1,000 vs first 1,000", last.p50, first.p50, "ms", `${(N / wallS).toFixed(0)} executions/s; server containment: ${containment}`),
      figure("soak", "latency p99, last 1,000 vs first 1,000", last.p99, first.p99, "ms"),
    ];
  } finally {
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printFigures(await run());
}
