/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and prints where the time went: self time per
 * function, per file or package, and inclusive time of the heaviest functions. A text stand-in for
 * a flame graph, so that findings can be quoted with numbers.
 * Usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top=25] [filter]
 *   filter: only count samples whose stack contains a frame matching this text (e.g. "session.ts").
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg, filter] = process.argv.slice(2);
if (!file) {
  console.error("usage: profile-summary <file.cpuprofile> [top] [filter]");
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Where a frame comes from: a package under node_modules, node's own code, or a project file. */
function origin(url: string): string {
  if (!url) return "(native/vm)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `pkg:${nm[1]}`;
  if (url.startsWith("node:")) return url;
  return url.replace(/^file:\/\//, "").replace(/^.*?\/(src|dist|bench|test)\//, "$1/");
}
const label = (n: ProfileNode) => `${n.callFrame.functionName || "(anonymous)"} ${origin(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const self = new Map<string, number>();
const selfOrigin = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000; // ms; delta i+1 is the time of sample i
  const leaf = byId.get(profile.samples[i]!)!;
  const stack: ProfileNode[] = [];
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) stack.push(byId.get(id)!);
  if (filter && !stack.some((n) => label(n).includes(filter))) continue;
  total += dt;
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
  const o = origin(leaf.callFrame.url) || "(native)";
  selfOrigin.set(o, (selfOrigin.get(o) ?? 0) + dt);
  for (const l of new Set(stack.map(label))) inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
}

const wall = (profile.endTime - profile.startTime) / 1000;
const idle = self.get("(idle) (native/vm):0") ?? 0;
console.log(`profile ${file}: ${wall.toFixed(0)} ms wall, ${total.toFixed(0)} ms sampled${filter ? ` (stacks with "${filter}")` : ""}, ${(total - idle).toFixed(0)} ms busy`);
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${v.toFixed(1).padStart(9)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
};
print("self time by file / package", selfOrigin);
print("self time by function", self);
print("inclusive time by function", inclusive);
