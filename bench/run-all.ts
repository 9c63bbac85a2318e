/**
 * Runs the benchmarks and prints each figure against its floor from the same run: the median and
 * range over BENCH_REPEATS (3) runs, and the share of the CPU other processes took meanwhile.
 * Usage: npx tsx bench/run-all.ts [suite...]   (default: every suite but soak and queue)
 */
import { formatFigure, type Figure } from "./lib.js";

const suites: Record<string, { run: () => Promise<Figure[]>; byDefault: boolean }> = {
  stream: { run: async () => (await import("./stream-bench.js")).run(), byDefault: true },
  sessions: { run: async () => (await import("./sessions-bench.js")).run(), byDefault: true },
  latency: { run: async () => (await import("./latency-bench.js")).run(), byDefault: true },
  cli: { run: async () => (await import("./cli-bench.js")).run(), byDefault: true },
  memory: { run: async () => (await import("./memory-bench.js")).run(), byDefault: true },
  tasks: { run: async () => (await import("./tasks-bench.js")).run(), byDefault: true },
  load: { run: async () => (await import("./load-bench.js")).run(), byDefault: true },
  soak: { run: async () => (await import("./soak.js")).run(), byDefault: false }, // 10,000 executions
  queue: { run: async () => (await import("./queue-bench.js")).run(), byDefault: false }, // needs redis-server
};

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in suites));
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(", ")}; known: ${Object.keys(suites).join(", ")}`);
  process.exit(2);
}
const all: Figure[] = [];
for (const [name, suite] of Object.entries(suites)) {
  if (asked.length ? !asked.includes(name) : !suite.byDefault) continue;
  console.log(`# ${name}`);
  const figures = await suite.run();
  for (const f of figures) console.log(formatFigure(f));
  all.push(...figures);
}
if (process.env.BENCH_JSON) console.log(JSON.stringify(all, null, 2));
