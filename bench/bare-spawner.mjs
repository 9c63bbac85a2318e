// The floor of the spawn benchmarks, run in its own plain `node` process (no tsx, nothing else
// loaded) so that the bare spawns are not slowed by a big parent: fork cost grows with the
// parent's memory. Prints one JSON object on stdout.
//   node bench/bare-spawner.mjs latency <rounds>            -> {"latencies": [ms until 'spawn', ...]}
//   node bench/bare-spawner.mjs sessions <sessions> <commands> -> {"latencies": [ms until 'close'], "wallMs", "wrong": [...]}
// With CC_EXECUTOR_BENCH_LOAD=<module path> it imports that module first (e.g. the built server's
// index): the same bare spawns from a process that carries the server's code, which makes every
// fork dearer (page tables and mappings to copy), so what is left is the server's own work.
import { spawn } from "node:child_process";

const [mode, a, b] = process.argv.slice(2);
if (process.env.CC_EXECUTOR_BENCH_LOAD) await import(process.env.CC_EXECUTOR_BENCH_LOAD);
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
/** Spawned as the server spawns: own process group, stdin closed, both pipes read. */
const start = (command) => spawn("/bin/sh", ["-c", command], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
const run = (child) => {
  child.stdout.resume();
  child.stderr.resume();
  return new Promise((r) => child.once("close", r));
};

// Warm-up, not measured: the first spawns of a fresh process are slower (code not yet compiled).
for (let i = 0; i < 10; i++) await run(start("true"));

if (mode === "latency") {
  const latencies = [];
  for (let i = 0; i < Number(a); i++) {
    const t0 = process.hrtime.bigint();
    const child = start("true");
    await new Promise((r) => child.once("spawn", r));
    latencies.push(ms(t0));
    await run(child);
  }
  console.log(JSON.stringify({ latencies }));
} else if (mode === "sessions") {
  const latencies = [];
  const wrong = [];
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Number(a) }, async (_, s) => {
      for (let i = 0; i < Number(b); i++) {
        const t1 = process.hrtime.bigint();
        const child = start(`printf 's%d-c%d' ${s} ${i}`);
        let out = "";
        child.stdout.on("data", (d) => (out += d.toString()));
        child.stderr.resume();
        await new Promise((r) => child.once("close", r));
        latencies.push(ms(t1));
        if (out !== `s${s}-c${i}`) wrong.push(`bare ${s}/${i}: ${out}`);
      }
    }),
  );
  console.log(JSON.stringify({ latencies, wallMs: ms(t0), wrong }));
} else {
  console.error("usage: bare-spawner.mjs latency <rounds> | sessions <sessions> <commands>");
  process.exit(2);
}
