/**
 * Task-list orchestration overhead, each figure against a baseline measured in the same run:
 *  1. a list of N claude tasks run by runTaskList against fake-claude (which answers at once), vs
 *     N direct spawns of fake-claude in sequence with the argv the runner builds (buildClaudeArgv);
 *  2. a list of N direct tasks (`true`), vs N bare spawns of `sh -c true`;
 *  3. from fake-claude's own record (FAKE_CLAUDE_RECORD), the gap between one call's end and the
 *     next call's start, for the list vs the bare spawns: the time spent between two tasks;
 *  4. the checkpoint write the runner does twice per task (write, fsync, rename) of a 50-task
 *     checkpoint, vs a plain writeFileSync of the same bytes: how much of (1) and (2) is fsync.
 * Totals are the median of BENCH_REPEATS runs; the per-task overhead is (ours - baseline) / N.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildClaudeArgv } from "../src/claude/argv.js";
import { newExecutionUuid, uuidInstruction } from "../src/claude/uuid.js";
import { resolveShell } from "../src/process/index.js";
import { writeAtomic } from "../src/tasks/checkpoint.js";
import { runTaskList, type TaskListOptions } from "../src/tasks/index.js";
import { FAKE_CLAUDE } from "../test/helpers/fake-claude.js";
import { figure, ms, printFigures, summarize, type Figure } from "./lib.js";

const TASKS = Number(process.env.BENCH_TASKS ?? 50);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

interface Call {
  started_at: number;
  ended_at: number;
}

const median = (xs: number[]) => summarize(xs).p50;

/**
 * CPU ticks (all CPUs) spent busy and in total, and those spent by this process and its reaped
 * children: the difference over a run is what other processes took. Linux only; undefined elsewhere.
 */
function cpuTicks(): { busy: number; total: number; ours: number } | undefined {
  try {
    const [, ...f] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f as number[];
    const self = readFileSync("/proc/self/stat", "utf8");
    const [utime, stime, cutime, cstime] = self.slice(self.lastIndexOf(")") + 2).split(" ").slice(11, 15).map(Number) as number[];
    return { busy: user! + nice! + system! + irq! + softirq! + steal!, total: user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal!, ours: utime! + stime! + cutime! + cstime! };
  } catch {
    return undefined;
  }
}

/** Spawns a command the way the supervisor does (own process group, stdin closed, both pipes read) and waits for it to close. */
function spawnAndWait(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", () => {});
    child.stderr.on("data", () => {});
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}`))));
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return ms(process.hrtime.bigint() - t0);
}

function readCalls(file: string): Call[] {
  return readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Call);
}

/** End of one call to start of the next, ms (fake-claude's own clock). */
function gaps(calls: Call[]): number[] {
  return calls.slice(1).map((c, i) => c.started_at - calls[i]!.ended_at);
}

export async function run(): Promise<Figure[]> {
  const root = mkdtempSync(join(tmpdir(), "cce-bench-tasks-"));
  const cwd = join(root, "cwd");
  mkdirSync(cwd);
  const fakeEnv = (record: string) => ({ FAKE_CLAUDE_SCENARIO: "success", FAKE_CLAUDE_RECORD: record });
  let seq = 0;
  const record = () => join(root, `calls-${++seq}.jsonl`);
  const sh = resolveShell("sh").path;

  /** Baseline: fake-claude spawned directly n times, same argv shape as the runner's (prompt carries a UUID instruction). */
  const bareClaude = (n: number, rec: string) =>
    timed(async () => {
      const env = { ...process.env, ...fakeEnv(rec) };
      for (let i = 0; i < n; i++) {
        const argv = buildClaudeArgv(`Step ${i + 1}: answer at once.${uuidInstruction(newExecutionUuid(), false)}`);
        await spawnAndWait(FAKE_CLAUDE, argv, { cwd, env });
      }
    });
  const bareDirect = (n: number) =>
    timed(async () => {
      for (let i = 0; i < n; i++) await spawnAndWait(sh, ["-c", "true"], { cwd, env: process.env });
    });

  const listOptions = (rec: string): TaskListOptions => {
    const home = mkdtempSync(join(root, "home-"));
    // shell "sh": the same shell as the baseline (the default prefers zsh when installed)
    return { home, cwd, env: fakeEnv(rec), local: { shell: "sh", claude: { claudeBin: FAKE_CLAUDE, home } } };
  };
  let checkpointText = "";
  const ourClaude = (n: number, rec: string) =>
    timed(async () => {
      const summary = await runTaskList(
        Array.from({ length: n }, (_, i) => `Step ${i + 1}: answer at once.`),
        listOptions(rec),
      );
      if (summary.status !== "completed" || summary.completed !== n) throw new Error(`claude list did not complete: ${summary.status}, ${summary.completed}/${n}`);
      checkpointText = readFileSync(summary.state_path, "utf8");
    });
  const ourDirect = (n: number) =>
    timed(async () => {
      const summary = await runTaskList({ tasks: Array.from({ length: n }, () => ({ command: "true" })) }, listOptions(record()));
      if (summary.status !== "completed" || summary.completed !== n) throw new Error(`direct list did not complete: ${summary.status}, ${summary.completed}/${n}`);
    });

  /** 2 writes per task, as the runner does; per-write times in ms. */
  const checkpointWrites = (n: number, write: (path: string, text: string) => void) => {
    const dir = mkdtempSync(join(root, "ckpt-"));
    const samples: number[] = [];
    for (let i = 0; i < 2 * n; i++) {
      const t0 = process.hrtime.bigint();
      write(join(dir, "checkpoint.json"), checkpointText);
      samples.push(ms(process.hrtime.bigint() - t0));
    }
    return samples;
  };

  try {
    // warm-up: module loading, page cache, JIT
    await bareClaude(5, record());
    await ourClaude(5, record());
    await bareDirect(5);
    await ourDirect(5);

    const cpu0 = cpuTicks();
    const t = { bareClaude: [] as number[], ourClaude: [] as number[], bareDirect: [] as number[], ourDirect: [] as number[] };
    const g = { bare: [] as number[], ours: [] as number[], ownBare: [] as number[], ownOurs: [] as number[] };
    const w = { atomic: [] as number[], plain: [] as number[] };
    for (let r = 0; r < REPEATS; r++) {
      const recBare = record();
      const recOurs = record();
      t.bareClaude.push(await bareClaude(TASKS, recBare));
      t.ourClaude.push(await ourClaude(TASKS, recOurs));
      t.bareDirect.push(await bareDirect(TASKS));
      t.ourDirect.push(await ourDirect(TASKS));
      const callsBare = readCalls(recBare);
      const callsOurs = readCalls(recOurs);
      if (callsBare.length !== TASKS || callsOurs.length !== TASKS) throw new Error(`expected ${TASKS} fake-claude calls, got ${callsBare.length} and ${callsOurs.length}`);
      g.bare.push(...gaps(callsBare));
      g.ours.push(...gaps(callsOurs));
      g.ownBare.push(...callsBare.map((c) => c.ended_at - c.started_at));
      g.ownOurs.push(...callsOurs.map((c) => c.ended_at - c.started_at));
      w.plain.push(...checkpointWrites(TASKS, (path, text) => writeFileSync(path, text)));
      w.atomic.push(...checkpointWrites(TASKS, writeAtomic));
    }

    const cpu1 = cpuTicks();
    const others = cpu0 && cpu1 ? `; other processes used ${((100 * (cpu1.busy - cpu0.busy - (cpu1.ours - cpu0.ours))) / (cpu1.total - cpu0.total)).toFixed(0)}% of the CPUs meanwhile` : "";
    const figures: Figure[] = [];
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;
    const perTask = (ours: number, base: number) => `overhead ${((ours - base) / TASKS).toFixed(2)} ms/task`;
    const bc = median(t.bareClaude);
    const oc = median(t.ourClaude);
    figures.push(figure("tasks", `${TASKS} claude tasks, total (med of ${REPEATS})`, oc, bc, "ms", `${perTask(oc, bc)}; ranges ${range(t.ourClaude)} vs ${range(t.bareClaude)}; baseline: ${TASKS} direct spawns of fake-claude${others}`));
    const bd = median(t.bareDirect);
    const od = median(t.ourDirect);
    figures.push(figure("tasks", `${TASKS} direct tasks, total (med of ${REPEATS})`, od, bd, "ms", `${perTask(od, bd)}; ranges ${range(t.ourDirect)} vs ${range(t.bareDirect)}; baseline: ${TASKS} spawns of sh -c true`));
    const gb = summarize(g.bare);
    const go = summarize(g.ours);
    figures.push(figure("tasks", `gap end->next start p50 (n=${g.ours.length})`, go.p50, gb.p50, "ms", `difference ${(go.p50 - gb.p50).toFixed(2)} ms, of means ${(go.mean - gb.mean).toFixed(2)} ms; fake-claude's own clock, 1 ms steps`));
    figures.push(figure("tasks", "gap end->next start p90", go.p90, gb.p90, "ms", `difference ${(go.p90 - gb.p90).toFixed(2)} ms`));
    const ob = summarize(g.ownBare);
    const oo = summarize(g.ownOurs);
    // the same script doing the same work in both: a check that the baseline is like for like
    figures.push(figure("tasks", "fake-claude own time per call, mean", oo.mean, ob.mean, "ms", "started_at -> ended_at inside fake-claude"));
    const wa = summarize(w.atomic);
    const wp = summarize(w.plain);
    figures.push(
      figure("tasks", `checkpoint write p50 (n=${w.atomic.length})`, wa.p50, wp.p50, "ms", `${(checkpointText.length / 1024).toFixed(0)} KiB, write+fsync+rename vs writeFileSync; 2 per task: mean ${(2 * wa.mean).toFixed(2)} ms/task`),
    );
    figures.push(figure("tasks", "checkpoint write p90", wa.p90, wp.p90, "ms"));
    return figures;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printFigures(await run());
}
