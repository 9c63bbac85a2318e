/**
 * Every benchmark suite, run once with tiny sizes: each must finish and print its figures (ours,
 * floor, ratio, the other processes' CPU share) as numbers. Their values are not checked: timings
 * belong in benchmarks, not in tests.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { Figure } from "../../bench/lib.js";

const TINY = {
  BENCH_REPEATS: "1",
  BENCH_MB: "4",
  BENCH_ROUNDS: "10",
  LOAD_SESSIONS: "6",
  SMALL_SESSIONS: "3",
  LOAD_COMMANDS: "2",
  BENCH_CLI_ROUNDS: "1",
  BENCH_FLOOD_MS: "500",
  BENCH_TASK_SIZES: "3,6",
  BENCH_CLAUDE_TASKS: "2",
  LOAD_STREAMS: "2",
  LOAD_STREAM_BYTES: "100000",
  BENCH_JSON: "1",
};

const SUITES: Record<string, RegExp[]> = {
  stream: [/one 4 MB stream of text lines/, /one 4 MB stream of UTF-8/, /relaying the pipe over loopback TCP/, /binary WebSocket messages/, /decoding the same bytes/, /server CPU per MB/, /client CPU per MB/],
  sessions: [/6 sessions x 2 short commands, latency p50/, /3 sessions x 2, total time/, /server CPU per command/],
  latency: [/execute -> process.started, p50/, /p99/, /loaded the server.s modules/],
  cli: [/--version, wall time/, /run "true" with a server up/, /run "true" vs a bare ws client/],
  memory: [/idle after start/, /after one 4 MB stream/, /as --daemon starts it/, /flood/],
  tasks: [/list of 3 direct tasks/, /list of 6 direct tasks/, /overhead per task, 6 tasks vs 3 tasks/, /list of 2 claude tasks/],
  load: [/2 streams x 0.1 MB random/, /server RSS while streaming/],
};

function runAll(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(resolve("node_modules/.bin/tsx"), ["bench/run-all.ts"], { env: { ...process.env, ...TINY }, maxBuffer: 16 * 1024 * 1024, timeout: 240_000 }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

describe("benchmarks (tiny sizes: they run, their figures are numbers)", () => {
  it("every default suite prints its figures against a floor from the same run", async () => {
    const r = await runAll();
    expect(r.code, r.stderr).toBe(0);
    const figures = JSON.parse(r.stdout.slice(r.stdout.indexOf("\n[") + 1)) as Figure[];
    for (const [suite, metrics] of Object.entries(SUITES)) {
      const own = figures.filter((f) => f.bench === suite);
      for (const m of metrics) expect(own.some((f) => m.test(f.metric)), `${suite}: ${m}`).toBe(true);
      for (const f of own) {
        expect(Number.isFinite(f.ours) && Number.isFinite(f.baseline) && Number.isFinite(f.ratio), `${suite}: ${f.metric}`).toBe(true);
        expect(f.runs).toBe(1);
        if (process.platform === "linux") expect(f.others).toBeGreaterThanOrEqual(0);
      }
    }
    expect(r.stdout).toMatch(/others took \d+% of the CPU/);
  }, 300_000);
});
