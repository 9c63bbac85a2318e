/**
 * CLI start-up, each figure against a floor measured in the same run (BENCH_CLI_ROUNDS, 10, of each,
 * interleaved):
 *  1. `cc-executor --version`, wall time until exit, vs `node -e 0`;
 *  2. `cc-executor run "true"` against a running server (found by CC_EXECUTOR_PORT and the state
 *     directory's token file, as a user's shell finds it), vs `sh -c true`;
 *  3. the same `run "true"` vs the floor of that path on Node: bench/bare-ws-client.mjs bundled with
 *     ws into one file (as the CLI bundles it), a plain node process that opens one WebSocket with
 *     the token and sends the same `execute`;
 *  4. the peak RSS of (1) and (2) vs `node -e 0`'s (with GNU time; skipped without /usr/bin/time);
 *  5. with BENCH_CLI_COMPARE=<another build's dist/cli/main.js>: `run "true"` of this build vs that
 *     one's, against the same server (before/after a change, in one interleaved run).
 * Usage: npx tsx bench/cli-bench.ts   (or: npx tsx bench/run-all.ts cli)
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { CLI } from "../test/helpers/cli.js";
import { spawnServerProcess } from "../test/helpers/server-process.js";
import { isMain, median, printFigures, repeat, timed, type Figure, type Measured } from "./lib.js";

const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 10);
const GNU_TIME = "/usr/bin/time";
const BARE_CLIENT = fileURLToPath(new URL("./bare-ws-client.mjs", import.meta.url));
const COMPARE = process.env.BENCH_CLI_COMPARE;

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

interface Command {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Median wall time (ms) and peak RSS (MiB) of each command over `rounds` rounds. Each round runs
 * every command once, one after another: ours and its floors see the same load on a shared machine.
 */
async function interleaved<K extends string>(rounds: number, commands: Record<K, Command>): Promise<Record<K, { ms: number; rss?: number }>> {
  const names = Object.keys(commands) as K[];
  const times = new Map<K, number[]>(names.map((k) => [k, []]));
  const rss = new Map<K, number[]>(names.map((k) => [k, []]));
  for (let i = 0; i < rounds; i++) {
    for (const name of names) {
      const { file, args, env = process.env } = commands[name];
      let kib: number | undefined;
      times.get(name)!.push(await timed(async () => (kib = await exec(file, args, env))));
      if (kib !== undefined) rss.get(name)!.push(kib / 1024);
    }
  }
  return Object.fromEntries(names.map((k) => [k, { ms: median(times.get(k)!), rss: rss.get(k)!.length ? median(rss.get(k)!) : undefined }])) as Record<K, { ms: number; rss?: number }>;
}

/** bench/bare-ws-client.mjs and ws in one file, as the CLI loads ws (no look-up of ws's optional add-ons either). */
async function bundleBareClient(dir: string): Promise<string> {
  const outfile = join(dir, "bare-ws-client.mjs");
  await build({
    entryPoints: [BARE_CLIENT],
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
    define: { "process.env.WS_NO_BUFFER_UTIL": '"1"' },
    logLevel: "error",
  });
  return outfile;
}

export async function run(): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), "cce-cli-bench-"));
  const server = await spawnServerProcess().catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const env = { ...process.env, NO_COLOR: "1", CC_EXECUTOR_HOME: server.home, CC_EXECUTOR_PORT: String(server.port) };
  const runTrue: Command = { file: process.execPath, args: [CLI, "run", "true"], env };
  try {
    const bareClient = await bundleBareClient(dir);
    await interleaved(2, { runTrue }); // warm-up: page cache
    return await repeat(
      "cli",
      async () => {
        const commands: Record<string, Command> = {
          nodeFloor: { file: process.execPath, args: ["-e", "0"] },
          version: { file: process.execPath, args: [CLI, "--version"], env },
          shFloor: { file: "/bin/sh", args: ["-c", "true"] },
          runTrue,
          bareClient: { file: process.execPath, args: [bareClient, server.url, server.token, "true"], env },
        };
        if (COMPARE) commands.otherBuild = { file: process.execPath, args: [COMPARE, "run", "true"], env };
        const { nodeFloor, version, shFloor, runTrue: ours, bareClient: bare, otherBuild: other } = await interleaved(ROUNDS, commands);
        const out: Measured[] = [
          { metric: "cc-executor --version, wall time", unit: "ms", ours: version!.ms, floor: nodeFloor!.ms, note: `floor: node -e 0; median of ${ROUNDS} each, interleaved` },
          { metric: 'cc-executor run "true" with a server up, wall time', unit: "ms", ours: ours!.ms, floor: shFloor!.ms, note: `floor: sh -c true; median of ${ROUNDS} each, interleaved` },
          { metric: 'cc-executor run "true" vs a bare ws client, wall time', unit: "ms", ours: ours!.ms, floor: bare!.ms, note: `floor: node + ws in one file, one WebSocket with the token, the same execute (bench/bare-ws-client.mjs); median of ${ROUNDS} each, interleaved` },
        ];
        if (other) out.push({ metric: 'cc-executor run "true", this build vs BENCH_CLI_COMPARE', unit: "ms", ours: ours!.ms, floor: other.ms, note: `floor: ${COMPARE} run "true"; median of ${ROUNDS} each, interleaved` });
        if (nodeFloor!.rss !== undefined && version!.rss !== undefined && ours!.rss !== undefined) {
          out.push({ metric: "cc-executor --version, peak RSS", unit: "MiB", ours: version!.rss, floor: nodeFloor!.rss, note: "floor: node -e 0 (GNU time %M)" });
          out.push({ metric: 'cc-executor run "true", peak RSS', unit: "MiB", ours: ours!.rss, floor: nodeFloor!.rss, note: "floor: node -e 0 (GNU time %M)" });
        }
        return out;
      },
      { pids: () => [server.pid] },
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) printFigures(await run());
