/**
 * Distributed mode with real processes: a real redis-server, three `cc-executor worker` processes
 * started from the built CLI (run `npm run build` first), fake-claude as the claude binary.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueStatus, submitTaskList } from "../../src/queue/index.js";
import type { TaskOutcome, TaskListEvent } from "../../src/tasks/index.js";
import { runCli } from "../helpers/cli.js";
import { fakeClaude } from "../helpers/fake-claude.js";
import { liveSleeps, processTable, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { readLines, startCliWorker, stopWorker, tempDir, uniqueQueue, type CliWorker } from "./helpers.js";

describe("distributed mode: three workers, one strictly ordered list", () => {
  let redis: TestRedis;
  const queueName = uniqueQueue("dist");
  const dir = tempDir();
  const fc = fakeClaude("success", { FAKE_CLAUDE_WORK_MS: "60" });
  const workers: CliWorker[] = [];
  // A killed worker's job is taken over after its lock expires (6 s): long enough for the restarted
  // worker to reap the task it left behind first, even on a loaded machine.
  const workerSpec = (name: string) => ({ redisUrl: redis.url, queueName, name, home: join(dir, `home-${name}`), concurrency: 2, env: fc.env, args: ["--lock-duration", "6000"] });
  const submitterHome = join(dir, "submitter");

  beforeAll(async () => {
    redis = await startRedis();
    workers.push(...(await Promise.all(["w1", "w2", "w3"].map((n) => startCliWorker(workerSpec(n))))));
  }, 30_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => stopWorker(w)));
    await redis?.dispose();
  }, 30_000);

  it("keeps strict order over a 20-task list (claude and direct tasks) submitted with `tasks run --queue`, passing results forward", async () => {
    const log = join(dir, "order.log");
    const lines = ["name: order", "tasks:"];
    for (let i = 1; i <= 20; i++) {
      if (i % 2 === 1) {
        lines.push(`  - id: t${i}`, `    command: echo "start ${i} $(date +%s%3N) $CC_EXECUTOR_WORKER" >> ${log}; sleep 0.05; echo token-${i}; echo "end ${i} $(date +%s%3N)" >> ${log}`);
      } else {
        lines.push(`  - id: t${i}`, `    prompt: "Task ${i}: say hello"`);
      }
    }
    const plan = join(dir, "order.yaml");
    writeFileSync(plan, `${lines.join("\n")}\n`);
    const res = await runCli(["tasks", "run", plan, "--queue", "--json", "-C", dir], {
      env: { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queueName, CC_EXECUTOR_HOME: submitterHome },
      timeoutMs: 45_000,
    });
    expect(res.stderr).toContain("[20/20]");
    expect(res.code, res.stderr).toBe(0);
    const summary = JSON.parse(res.stdout);
    expect(summary).toMatchObject({ status: "completed", completed: 20, total: 20 });
    // the same report as local mode, written by the submitter
    expect(existsSync(summary.report_path)).toBe(true);
    expect(readFileSync(summary.report_path, "utf8")).toContain("| 20 | Task 20: say hello | claude | ✅ completed");

    // Every task's interval, from the direct tasks' own timestamps and fake-claude's recorded calls.
    const intervals = new Map<number, { start: number; end: number }>();
    for (const l of readLines(log)) {
      const [kind, i, t] = l.split(" ");
      const cur = intervals.get(Number(i)) ?? { start: NaN, end: NaN };
      if (kind === "start") cur.start = Number(t);
      else cur.end = Number(t);
      intervals.set(Number(i), cur);
    }
    const calls = fc.calls();
    expect(calls).toHaveLength(10);
    for (const c of calls) {
      const i = Number(/## Your task \(task (\d+) of 20/.exec(c.prompt)![1]);
      intervals.set(i, { start: c.started_at, end: c.ended_at });
      // context passing across workers: the result of the direct task before it is in its prompt
      expect(c.prompt).toContain(`token-${i - 1}`);
    }
    expect([...intervals.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, k) => k + 1));
    for (let i = 1; i < 20; i++) {
      const a = intervals.get(i)!;
      const b = intervals.get(i + 1)!;
      expect(a.end, `task ${i} ended before task ${i + 1} started`).toBeLessThanOrEqual(b.start);
    }
    // the tasks were spread over the workers (each outcome says which one ran it)
    const ranOn = new Set((summary.tasks as Array<TaskOutcome & { worker?: string }>).map((t) => t.worker));
    expect([...ranOn].every((w) => ["w1", "w2", "w3"].includes(w!))).toBe(true);
  }, 50_000);

  it("fans a parallel group out over several workers at once and joins it before the next task; queue status shows them", async () => {
    const log = join(dir, "fan.log");
    const group = Array.from({ length: 6 }, (_, k) => ({
      id: `g${k + 1}`,
      command: `echo "start g${k + 1} $(date +%s%3N) $CC_EXECUTOR_WORKER" >> ${log}; sleep 2.5; echo "end g${k + 1} $(date +%s%3N)" >> ${log}`,
      parallel_group: "fan",
    }));
    const events: TaskListEvent[] = [];
    const run = await submitTaskList(
      { tasks: [{ id: "first", command: "echo first" }, ...group, { id: "last", command: `echo "last $(date +%s%3N)" >> ${log}` }] },
      { redisUrl: redis.url, queueName, home: submitterHome, cwd: dir, concurrency: 6, onEvent: (e) => events.push(e) },
    );
    await waitUntil(() => readLines(log).filter((l) => l.startsWith("start")).length === 6, 15_000, "the six group tasks to start");
    const live = await queueStatus({ redisUrl: redis.url, queueName });
    expect(live.counts.active).toBe(6);
    expect(live.active_jobs.map((j) => j.task_id).sort()).toEqual(["g1", "g2", "g3", "g4", "g5", "g6"]);
    expect(new Set(live.active_jobs.map((j) => j.worker)).size).toBeGreaterThanOrEqual(2);
    const status = await runCli(["queue", "status", "--json"], { env: { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queueName } });
    expect(status.code, status.stderr).toBe(0);
    const st = JSON.parse(status.stdout);
    expect(st).toMatchObject({ queue: queueName, paused: false });
    expect(st.workers.map((w: { name: string }) => w.name).sort()).toEqual(["w1", "w2", "w3"]);
    expect(st.bullmq_workers.map((w: { name: string }) => w.name).sort()).toEqual(["w1", "w2", "w3"]);
    const human = await runCli(["queue", "status"], { env: { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queueName } });
    expect(human.stdout).toMatch(/workers \(3\):/);
    expect(human.stdout).toMatch(/^jobs: waiting \d+ · active \d+ · delayed \d+ · failed \d+ · completed \d+$/m);

    const summary = await run.finished();
    expect(summary).toMatchObject({ status: "completed", completed: 8 });
    const lines = readLines(log);
    const starts = lines.filter((l) => l.startsWith("start")).map((l) => ({ t: Number(l.split(" ")[2]), worker: l.split(" ")[3] }));
    const ends = lines.filter((l) => l.startsWith("end")).map((l) => Number(l.split(" ")[2]));
    const last = Number(lines.find((l) => l.startsWith("last"))!.split(" ")[1]);
    expect(new Set(starts.map((s) => s.worker)).size).toBeGreaterThanOrEqual(2);
    // all six ran at the same time, and the task after the group waited for all of them
    expect(Math.max(...starts.map((s) => s.t))).toBeLessThan(Math.min(...ends));
    expect(last).toBeGreaterThanOrEqual(Math.max(...ends));
    // live progress arrived from the workers, inside each task's started/completed pair
    const g3 = events.filter((e) => (e.type === "task.activity" && e.task_id === "g3") || (e.type === "task.started" && e.task_id === "g3") || (e.type === "task.completed" && e.outcome.id === "g3"));
    expect(g3.map((e) => (e.type === "task.activity" ? e.activity.type : e.type))).toEqual(["task.started", "process.started", "process.completed", "task.completed"]);
  }, 40_000);

  it("a worker killed with SIGKILL mid-task: the task is taken over by another worker, completes once, and never runs twice at a time", async () => {
    const long = uniqueSleep(300);
    const short = uniqueSleep(1);
    const log = join(dir, "kill.log");
    const marker = join(dir, "kill.marker");
    const cmd = `echo "run $CC_EXECUTOR_WORKER" >> ${log}; if [ -e ${marker} ]; then sleep ${short}; echo second-run; else echo $CC_EXECUTOR_WORKER > ${marker}; sleep ${long}; fi; echo "end $CC_EXECUTOR_WORKER" >> ${log}`;
    const run = await submitTaskList({ tasks: [{ id: "a", command: "echo a" }, { id: "victim", command: cmd }, { id: "c", command: "echo c" }] }, { redisUrl: redis.url, queueName, home: submitterHome, cwd: dir });

    // Never two copies of the task at once, whatever happens below.
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, liveSleeps(long).length + liveSleeps(short).length)), 20);
    try {
      await waitUntil(() => liveSleeps(long).length === 1 && existsSync(marker) && readFileSync(marker, "utf8").trim() !== "", 15_000, "the long task to start");
      const victimName = readFileSync(marker, "utf8").trim();
      const index = workers.findIndex((w) => w.name === victimName);
      const victim = workers[index]!;
      const orphanPgid = liveSleeps(long)[0]!.pgid;
      victim.child.kill("SIGKILL");
      await victim.exited;
      // The task's process group outlives its worker...
      expect(liveSleeps(long)).toHaveLength(1);
      // ...until the worker is started again on the same state directory: it reaps the group first.
      const restarted = await startCliWorker(workerSpec(victimName));
      workers[index] = restarted;
      expect(liveSleeps(long)).toEqual([]);
      expect(processTable().filter((p) => p.pgid === orphanPgid && p.state !== "Z")).toEqual([]);
      // (its process group, or its cgroup where executions have their own)
      expect(restarted.logs().some((l) => /killed what a worker that died left running: (1 process group\(s\), 0 cgroup|0 process group\(s\), 1 cgroup)/.test(l.msg ?? ""))).toBe(true);

      const summary = await run.finished();
      expect(summary).toMatchObject({ status: "completed", completed: 3 });
      const victimOutcome = summary.tasks.find((t) => t.id === "victim") as TaskOutcome & { worker?: string };
      expect(victimOutcome).toMatchObject({ status: "completed", attempts: 1 });
      expect(victimOutcome.result).toContain("second-run");
      const lines = readLines(log);
      expect(lines.filter((l) => l.startsWith("run"))).toHaveLength(2);
      expect(lines.filter((l) => l.startsWith("end"))).toEqual([`end ${victimOutcome.worker}`]);
    } finally {
      clearInterval(sampler);
    }
    expect(most).toBe(1);
    expect(liveSleeps(long)).toEqual([]);
    expect(liveSleeps(short)).toEqual([]);
  }, 45_000);

  it("streams a task's output from its worker in bounded messages", async () => {
    const chunks: string[] = [];
    const run = await submitTaskList([{ id: "loud", command: "head -c 3000000 /dev/zero | tr '\\0' a; echo; echo tail-marker" }], {
      redisUrl: redis.url,
      queueName,
      home: submitterHome,
      cwd: dir,
      onEvent: (e) => e.type === "task.activity" && e.activity.type === "process.output" && chunks.push(e.activity.chunk.data),
    });
    const summary = await run.finished();
    expect(summary.status).toBe("completed");
    expect(chunks.length).toBeGreaterThan(10); // 64 KiB chunks, streamed while the task ran
    // Every message is bounded (an output chunk keeps its first 16 KiB). How much of the 3 MB that
    // relays in all depends on how the pipe reads fell (chunks of up to 64 KiB), so no total is asserted.
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(16 * 1024 + 64);
    // the outcome keeps the output's tail, as in local mode
    expect(summary.tasks[0]!.status === "completed" && (summary.tasks[0] as TaskOutcome).result).toMatch(/tail-marker\n?$/);
  }, 30_000);

  it("refuses --queue without REDIS_URL with a clear message and exit code 2", async () => {
    const plan = join(dir, "tiny.yaml");
    mkdirSync(dir, { recursive: true });
    writeFileSync(plan, "tasks:\n  - command: echo hi\n");
    const env = { REDIS_URL: "", CC_EXECUTOR_HOME: submitterHome };
    const res = await runCli(["tasks", "run", plan, "--queue"], { env, cwd: dir });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--queue needs REDIS_URL/);
    const worker = await runCli(["worker"], { env, cwd: dir });
    expect(worker.code).toBe(2);
    expect(worker.stderr).toMatch(/needs REDIS_URL/);
    const status = await runCli(["queue", "status"], { env, cwd: dir });
    expect(status.code).toBe(2);
  });
});
