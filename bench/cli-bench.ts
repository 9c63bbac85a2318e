/**
 * CLI start-up, each figure against a floor measured in the same run (BENCH_CLI_ROUNDS, 10, of each):
 *  1. `cc-executor --version`, wall time until exit, vs `node -e 0`;
 *  2. `cc-executor run "true"` against a running server (found by CC_EXECUTOR_PORT and the state
 *     directory's token file, as a user's shell finds it), vs `sh -c true`;
 *  3. the peak RSS of (1) and (2) vs `node -e 0`'s (with GNU time; skipped without /usr/bin/time).
 * Usage: npx tsx bench/cli-bench.ts   (or: npx tsx bench/run-all.ts cli)
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { CLI } from "../test/helpers/cli.js";
import { spawnServerProcess } from "../test/helpers/server-process.js";
import { isMain, median, printFigures, repeat, timed, type Figure, type Measured } from "./lib.js";

const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 10);
const GNU_TIME = "/usr/bin/time";

/** Runs a command to its end; with GNU time, also returns its peak RSS (KiB). Throws on a non-zero exit. */
function exec(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const measure = existsSync(GNU_TIME);
  const [cmd, argv] = measure ? [GNU_TIME, ["-f", "%M", file, ...args]] : [file, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code !== 0) return reject(new Error(`${file} ${args.join(" ")} exited with ${code}: ${stderr}`));
      resolve(measure ? Number(stderr.trim().split("\n").at(-1)) : undefined);
    });
  });
}

/** Median wall time (ms) and peak RSS (MiB) of `rounds` runs. */
async function sample(rounds: number, file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; rss?: number }> {
  const times: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let kib: number | undefined;
    times.push(await timed(async () => (kib = await exec(file, args, env))));
    if (kib !== undefined) rss.push(kib / 1024);
  }
  return { ms: median(times), rss: rss.length ? median(rss) : undefined };
}

export async function run(): Promise<Figure[]> {
  const server = await spawnServerProcess();
  const env = { ...process.env, NO_COLOR: "1", CC_EXECUTOR_HOME: server.home, CC_EXECUTOR_PORT: String(server.port) };
  try {
    await sample(2, process.execPath, [CLI, "run", "true"], env); // warm-up: page cache
    return await repeat(
      "cli",
      async () => {
        const nodeFloor = await sample(ROUNDS, process.execPath, ["-e", "0"]);
        const version = await sample(ROUNDS, process.execPath, [CLI, "--version"], env);
        const shFloor = await sample(ROUNDS, "/bin/sh", ["-c", "true"]);
        const runTrue = await sample(ROUNDS, process.execPath, [CLI, "run", "true"], env);
        const out: Measured[] = [
          { metric: "cc-executor --version, wall time", unit: "ms", ours: version.ms, floor: nodeFloor.ms, note: `floor: node -e 0; median of ${ROUNDS} each` },
          { metric: 'cc-executor run "true" with a server up, wall time', unit: "ms", ours: runTrue.ms, floor: shFloor.ms, note: `floor: sh -c true; median of ${ROUNDS} each` },
        ];
        if (nodeFloor.rss !== undefined && version.rss !== undefined && runTrue.rss !== undefined) {
          out.push({ metric: "cc-executor --version, peak RSS", unit: "MiB", ours: version.rss, floor: nodeFloor.rss, note: "floor: node -e 0 (GNU time %M)" });
          out.push({ metric: 'cc-executor run "true", peak RSS', unit: "MiB", ours: runTrue.rss, floor: nodeFloor.rss, note: "floor: node -e 0 (GNU time %M)" });
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
