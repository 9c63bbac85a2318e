/** Runs every benchmark and prints each figure as a ratio against its same-run baseline. */
import { printFigures, type Figure } from "./lib.js";
import { run as serverBench } from "./server-bench.js";
import { run as tasksBench } from "./tasks-bench.js";
import { run as loadBench } from "./load-bench.js";
import { run as soakBench } from "./soak.js";

const suites: Array<[string, () => Promise<Figure[]>]> = [
  ["server", serverBench],
  ["tasks", tasksBench],
  ["load", loadBench],
  ["soak", soakBench], // long (10,000 executions): only when named
];
const only = process.argv[2];
const all: Figure[] = [];
for (const [name, suite] of suites) {
  if (only ? only !== name : name === "soak") continue;
  console.log(`# ${name}`);
  const figures = await suite();
  printFigures(figures);
  all.push(...figures);
}
if (process.env.BENCH_JSON) console.log(JSON.stringify(all, null, 2));
