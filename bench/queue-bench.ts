/**
 * Distributed mode (BullMQ on a real redis-server, workers as separate `cc-executor worker`
 * processes from the built CLI), each figure against local mode measured in the same run:
 *  1. a sequential list of N direct `true` tasks through the queue with one worker, vs the same
 *     list run locally (LocalExecutor): per-task dispatch overhead = (queue - local) / N;
 *  2. M independent `true` tasks in one parallel group (submitter concurrency C) across 1, 2 and 4
 *     workers (each with concurrency W), vs the same group run locally with concurrency W: tasks/s.
 * Totals are the median of BENCH_REPEATS runs.
 *
 *   npm run build && npx tsx bench/queue-bench.ts
 *   BENCH_TASKS=50 BENCH_GROUP=500 BENCH_REPEATS=3 npx tsx bench/queue-bench.ts
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { submitTaskList } from "../src/queue/index.js";
import { runTaskList } from "../src/tasks/index.js";
import { startRedis, type TestRedis } from "../test/helpers/redis.js";
import { startCliWorker, stopWorker, tempDir, type CliWorker } from "../test/queue/helpers.js";
import { figure, printFigures, summarize, type Figure } from "./lib.js";

const TASKS = Number(process.env.BENCH_TASKS ?? 50);
const GROUP = Number(process.env.BENCH_GROUP ?? 500);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
/** Jobs one worker runs at once, and the local baseline's concurrency. */
const WORKER_CONCURRENCY = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 8);
/** Tasks of the group the submitter keeps queued/running at once. */
const SUBMIT_CONCURRENCY = Number(process.env.BENCH_SUBMIT_CONCURRENCY ?? 64);

const median = (xs: number[]) => summarize(xs).p50;

/**
 * CPU ticks of the whole machine (busy, total) and of our processes (this one with its reaped
 * children, the workers with theirs, redis-server): over a measurement, busy - ours is what other
 * processes took, which says how far to trust the figure on a shared machine. Linux only.
 */
function cpu(pids: number[]): { busy: number; total: number; ours: number } | undefined {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f as number[];
    let ours = 0;
    for (const pid of ["self", ...pids]) {
      try {
        const st = readFileSync(`/proc/${pid}/stat`, "utf8");
        ours += st.slice(st.lastIndexOf(")") + 2).split(" ").slice(11, 15).map(Number).reduce((a, b) => a + b, 0);
      } catch {
        // gone
      }
    }
    return { busy: user! + nice! + system! + irq! + softirq! + steal!, total: user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal!, ours };
  } catch {
    return undefined;
  }
}

/** Runs fn and says which share of the machine's CPU other processes took meanwhile. */
async function measured(pids: () => number[], fn: () => Promise<number>): Promise<{ ms: number; others: number }> {
  const a = cpu(pids());
  const ms = await fn();
  const b = cpu(pids());
  const others = a && b && b.total > a.total ? Math.max(0, (b.busy - a.busy - (b.ours - a.ours)) / (b.total - a.total)) : NaN;
  return { ms, others };
}

const share = (xs: number[]) => `${Math.round(median(xs) * 100)}%`;

function sequentialList(n: number) {
  return { name: "seq", tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i + 1}`, command: "true" })) };
}

function groupList(n: number) {
  return { name: "group", tasks: Array.from({ length: n }, (_, i) => ({ id: `g${i + 1}`, command: "true", parallel_group: "all" })) };
}

async function timeLocal(list: ReturnType<typeof sequentialList>, home: string, concurrency: number): Promise<number> {
  const t0 = performance.now();
  const s = await runTaskList(list, { home, cwd: home, concurrency });
  if (s.status !== "completed") throw new Error(`local run ${s.status}`);
  return performance.now() - t0;
}

async function timeQueue(list: ReturnType<typeof sequentialList>, redis: TestRedis, queueName: string, home: string, concurrency: number): Promise<number> {
  const t0 = performance.now();
  const run = await submitTaskList(list, { redisUrl: redis.url, queueName, home, cwd: home, concurrency, keepJobsS: 60 });
  const s = await run.finished();
  if (s.status !== "completed") throw new Error(`queue run ${s.status}: ${JSON.stringify(s.tasks.find((t) => t.status !== "completed"))}`);
  return performance.now() - t0;
}

async function withWorkers<T>(redis: TestRedis, queueName: string, dir: string, count: number, fn: (pids: () => number[]) => Promise<T>): Promise<T> {
  const workers: CliWorker[] = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startCliWorker({ redisUrl: redis.url, queueName, name: `bench-${count}-${i + 1}`, home: join(dir, `w${i + 1}`), concurrency: WORKER_CONCURRENCY, env: { LOG_LEVEL: "warn" } }),
    ),
  );
  try {
    return await fn(() => [...workers.map((w) => w.child.pid!), redis.pid()!]);
  } finally {
    await Promise.all(workers.map((w) => stopWorker(w)));
  }
}

export async function run(): Promise<Figure[]> {
  const dir = tempDir("cce-qbench-");
  const redis = await startRedis();
  const figures: Figure[] = [];
  try {
    // 1. sequential dispatch, one worker
    const local: number[] = [];
    const queued: number[] = [];
    const others: number[] = [];
    await withWorkers(redis, "bench-seq", dir, 1, async (pids) => {
      await timeQueue(sequentialList(5), redis, "bench-seq", join(dir, "warm"), 1); // warm-up: connections, scripts, JIT
      await timeLocal(sequentialList(5), join(dir, "warm"), 1);
      for (let r = 0; r < REPEATS; r++) {
        const a = await measured(pids, () => timeLocal(sequentialList(TASKS), join(dir, "local"), 1));
        const b = await measured(pids, () => timeQueue(sequentialList(TASKS), redis, "bench-seq", join(dir, "queue"), 1));
        local.push(a.ms);
        queued.push(b.ms);
        others.push(a.others, b.others);
      }
    });
    const l = median(local);
    const q = median(queued);
    figures.push(figure("queue", `${TASKS}-task sequential list, total`, q, l, "ms", `1 worker; per task ${(q / TASKS).toFixed(2)} vs ${(l / TASKS).toFixed(2)} ms; other processes took ${share(others)} of the CPU`));
    figures.push(figure("queue", "dispatch overhead per task", (q - l) / TASKS, l / TASKS, "ms", "(queue - local) / N, against a local task's whole cost"));

    // 2. throughput of one wide parallel group; the local baseline is measured next to each
    // queue measurement (same load on a shared machine), with the workers idle on Redis.
    for (const count of [1, 2, 4]) {
      const name = `bench-group-${count}`;
      const baseline: number[] = [];
      const samples: number[] = [];
      const baseOthers: number[] = [];
      const groupOthers: number[] = [];
      await withWorkers(redis, name, dir, count, async (pids) => {
        await timeQueue(groupList(20), redis, name, join(dir, "warm"), SUBMIT_CONCURRENCY);
        for (let r = 0; r < REPEATS; r++) {
          const b = await measured(pids, () => timeLocal(groupList(GROUP), join(dir, "local-group"), WORKER_CONCURRENCY));
          const m = await measured(pids, () => timeQueue(groupList(GROUP), redis, name, join(dir, `queue-group-${count}`), SUBMIT_CONCURRENCY));
          baseline.push(b.ms);
          baseOthers.push(b.others);
          samples.push(m.ms);
          groupOthers.push(m.others);
        }
      });
      const rate = GROUP / (median(samples) / 1000);
      const localRate = GROUP / (median(baseline) / 1000);
      figures.push(figure("queue", `${GROUP} tasks, ${count} worker(s) x ${WORKER_CONCURRENCY}`, rate, localRate, "t/s", `baseline: local, concurrency ${WORKER_CONCURRENCY}; other processes took ${share(groupOthers)} of the CPU (baseline ${share(baseOthers)})`));
    }
  } finally {
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  printFigures(await run());
}
