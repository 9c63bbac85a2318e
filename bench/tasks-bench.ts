/**
 * Task-list orchestration overhead, each figure against a floor measured in the same run:
 *  1. lists of N direct tasks (`true`; N from BENCH_TASK_SIZES, default 10,100,1000) run by
 *     runTaskList with a SQLite history store, as `tasks run` does, vs N bare spawns of `sh -c true`
 *     the way the supervisor spawns (own process group, both pipes read): time per task;
 *  2. the overhead per task ((list - bare) / N) at the largest N against the smallest: 1.0 is flat,
 *     i.e. the per-task cost does not grow with the list (checkpoints, context, history);
 *  3. a list of BENCH_CLAUDE_TASKS (50) claude tasks against fake-claude (which answers at once),
 *     vs as many direct spawns of fake-claude with the argv the runner builds: time per task, and
 *     from fake-claude's own clock the gap between one call's end and the next one's start.
 * Usage: npx tsx bench/tasks-bench.ts   (or: npx tsx bench/run-all.ts tasks)
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildClaudeArgv } from "../src/claude/argv.js";
import { newExecutionUuid, uuidInstruction } from "../src/claude/uuid.js";
import { resolveShell } from "../src/process/index.js";
import { HistoryRecorder, openStore } from "../src/store/index.js";
import { runTaskList, type TaskListOptions } from "../src/tasks/index.js";
import { FAKE_CLAUDE } from "../test/helpers/fake-claude.js";
import { isMain, printFigures, repeat, summarize, timed, type Figure, type Measured } from "./lib.js";

const SIZES = (process.env.BENCH_TASK_SIZES ?? "10,100,1000").split(",").map(Number);
const CLAUDE_TASKS = Number(process.env.BENCH_CLAUDE_TASKS ?? 50);

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

interface Call {
  started_at: number;
  ended_at: number;
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
  const sh = resolveShell("sh").path;
  let seq = 0;
  const record = () => join(root, `calls-${++seq}.jsonl`);
  const fakeEnv = (rec: string) => ({ FAKE_CLAUDE_SCENARIO: "success", FAKE_CLAUDE_RECORD: rec });

  /** Each list in a fresh state directory with its SQLite history, as `cc-executor tasks run` has. */
  const withHome = async <T>(fn: (options: TaskListOptions) => Promise<T>, env: Record<string, string> = {}): Promise<T> => {
    const home = mkdtempSync(join(root, "home-"));
    const store = await openStore({ home });
    try {
      // shell "sh": the same shell as the floor (the default prefers zsh when installed)
      return await fn({ home, cwd, env, history: new HistoryRecorder(store), local: { shell: "sh", claude: { claudeBin: FAKE_CLAUDE, home } } });
    } finally {
      await store.close();
    }
  };
  const bareDirect = (n: number) => timed(async () => {
    for (let i = 0; i < n; i++) await spawnAndWait(sh, ["-c", "true"], { cwd, env: process.env });
  });
  const ourDirect = (n: number) => withHome((options) => timed(async () => {
    const summary = await runTaskList({ tasks: Array.from({ length: n }, () => ({ command: "true" })) }, options);
    if (summary.status !== "completed" || summary.completed !== n) throw new Error(`direct list did not complete: ${summary.status}, ${summary.completed}/${n}`);
  }));
  const bareClaude = (n: number, rec: string) => timed(async () => {
    const env = { ...process.env, ...fakeEnv(rec) };
    for (let i = 0; i < n; i++) await spawnAndWait(FAKE_CLAUDE, buildClaudeArgv(`Step ${i + 1}: answer at once.${uuidInstruction(newExecutionUuid(), false)}`), { cwd, env });
  });
  const ourClaude = (n: number, rec: string) => withHome((options) => timed(async () => {
    const summary = await runTaskList(Array.from({ length: n }, (_, i) => `Step ${i + 1}: answer at once.`), options);
    if (summary.status !== "completed" || summary.completed !== n) throw new Error(`claude list did not complete: ${summary.status}, ${summary.completed}/${n}`);
  }), fakeEnv(rec));

  try {
    // warm-up: module loading, page cache, JIT
    await bareDirect(5);
    await ourDirect(5);
    await bareClaude(3, record());
    await ourClaude(3, record());
    const figures = await repeat("tasks", async () => {
      const out: Measured[] = [];
      const overhead: number[] = [];
      for (const n of SIZES) {
        const bare = await bareDirect(n);
        const ours = await ourDirect(n);
        overhead.push((ours - bare) / n);
        out.push({ metric: `list of ${n} direct tasks, per task`, unit: "ms", ours: ours / n, floor: bare / n, note: `floor: ${n} spawns of sh -c true in sequence` });
      }
      if (SIZES.length > 1) {
        out.push({ metric: `overhead per task, ${SIZES.at(-1)} tasks vs ${SIZES[0]} tasks`, unit: "ms", ours: overhead.at(-1)!, floor: overhead[0]!, note: "overhead: (list - spawns) / tasks; ratio 1.0: flat per task" });
      }
      if (CLAUDE_TASKS > 0) {
        const recBare = record();
        const recOurs = record();
        const bare = await bareClaude(CLAUDE_TASKS, recBare);
        const ours = await ourClaude(CLAUDE_TASKS, recOurs);
        out.push({ metric: `list of ${CLAUDE_TASKS} claude tasks (fake-claude), per task`, unit: "ms", ours: ours / CLAUDE_TASKS, floor: bare / CLAUDE_TASKS, note: "floor: fake-claude spawned in sequence with the runner's argv" });
        const [gb, go] = [summarize(gaps(readCalls(recBare))), summarize(gaps(readCalls(recOurs)))];
        out.push({ metric: "  gap from one claude call's end to the next one's start, p50", unit: "ms", ours: go.p50, floor: gb.p50, note: "fake-claude's own clock (1 ms steps); includes the next Node start-up, which both pay" });
      }
      return out;
    });
    return figures;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) printFigures(await run());
