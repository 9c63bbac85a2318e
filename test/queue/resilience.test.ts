/**
 * Distributed mode when things go wrong: the submitter dies, a run is canceled, a worker is stopped,
 * a worker hits the Claude usage limit. Real redis-server, real `cc-executor worker` processes from
 * the built CLI (run `npm run build` first).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resumeSubmittedTaskList, submitTaskList } from "../../src/queue/index.js";
import type { TaskListEvent, TaskOutcome } from "../../src/tasks/index.js";
import { runCli, spawnCli } from "../helpers/cli.js";
import { fakeClaude } from "../helpers/fake-claude.js";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { readLines, startCliWorker, stopWorker, tempDir, uniqueQueue, type CliWorker } from "./helpers.js";

type Outcome = TaskOutcome & { worker?: string };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("distributed mode: failures, cancel, resume, shutdown, limits", () => {
  let redis: TestRedis;
  const queueName = uniqueQueue("res");
  const dir = tempDir();
  const home = join(dir, "submitter");
  const workers: CliWorker[] = [];
  const spec = (name: string, extra: Partial<Parameters<typeof startCliWorker>[0]> = {}) => ({ redisUrl: redis.url, queueName, name, home: join(dir, `home-${name}`), concurrency: 1, args: ["--shutdown-grace", "1"], ...extra });
  const status = async (queue: string) => {
    const res = await runCli(["queue", "status", "--json"], { env: { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queue } });
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout);
  };

  beforeAll(async () => {
    redis = await startRedis();
    workers.push(...(await Promise.all(["wa", "wb"].map((n) => startCliWorker(spec(n))))));
  }, 30_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => stopWorker(w)));
    await redis?.dispose();
  }, 30_000);

  it("resumes a submitted list after its submitter was killed: the task that finished on a worker meanwhile is not run again", async () => {
    const log = join(dir, "resume.log");
    const plan = join(dir, "resume.yaml");
    writeFileSync(
      plan,
      [
        "name: resumable",
        "tasks:",
        `  - command: echo t1 >> ${log}`,
        `  - command: echo t2-start >> ${log}; sleep 1.5; echo t2-end >> ${log}; echo result-two`,
        `  - command: echo t3 >> ${log}`,
        "",
      ].join("\n"),
    );
    const env = { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queueName, CC_EXECUTOR_HOME: home };
    const submitter = spawnCli(["tasks", "run", plan, "--queue", "-C", dir], { env });
    let stderr = "";
    submitter.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    await waitUntil(() => readLines(log).includes("t2-start"), 15_000, "task 2 to start");
    submitter.kill("SIGKILL");
    await new Promise((r) => submitter.once("exit", r));
    const runId = /run (tl-[\w-]+)/.exec(stderr)![1]!;
    // the worker finishes the task without anyone waiting for it
    await waitUntil(() => readLines(log).includes("t2-end"), 10_000, "task 2 to end on its worker");

    const res = await runCli(["tasks", "resume", runId, "--queue", "--json"], { env, timeoutMs: 30_000 });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/resumed, 1 already done/);
    const summary = JSON.parse(res.stdout);
    expect(summary).toMatchObject({ run_id: runId, status: "completed", completed: 3 });
    expect(summary.tasks[1].result).toContain("result-two");
    expect(readLines(log)).toEqual(["t1", "t2-start", "t2-end", "t3"]);
  }, 40_000);

  it("cancel kills the task's process group on its worker; resume runs the rest; a queued task is canceled by removing its job", async () => {
    const long = uniqueSleep(300);
    const marker = join(dir, "cancel.marker");
    const tasks = [{ id: "a", command: "echo a" }, { id: "b", command: `if [ -e ${marker} ]; then echo again; else touch ${marker}; sleep ${long}; fi` }, { id: "c", command: "echo c" }];
    const run = await submitTaskList({ tasks }, { redisUrl: redis.url, queueName, home, cwd: dir });
    await waitUntil(() => liveSleeps(long).length === 1, 15_000, "the long task to start");
    const canceled = await run.cancel();
    expect(canceled).toMatchObject({ status: "canceled", completed: 1 });
    expect(canceled.tasks.find((t) => t.id === "b")).toMatchObject({ status: "canceled" });
    await waitUntil(() => liveSleeps(long).length === 0, 8000, "the worker to kill the task's process group");

    const resumed = await resumeSubmittedTaskList(run.runId, { redisUrl: redis.url, queueName, home });
    const summary = await resumed.finished();
    expect(summary).toMatchObject({ status: "completed", completed: 3 });
    expect((summary.tasks.find((t) => t.id === "b") as Outcome).result).toContain("again");

    // With the queue paused nothing is taken: cancel removes the waiting job from the queue.
    const paused = await runCli(["queue", "pause"], { env: { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queueName } });
    expect(paused.code, paused.stderr).toBe(0);
    try {
      const waiting = await submitTaskList([{ id: "never", command: `touch ${join(dir, "never-ran")}` }], { redisUrl: redis.url, queueName, home, cwd: dir });
      await sleep(600);
      const st = await status(queueName);
      expect(st.paused).toBe(true);
      expect(st.waiting_jobs.map((j: { task_id: string }) => j.task_id)).toEqual(["never"]);
      const s = await waiting.cancel();
      expect(s.tasks[0]).toMatchObject({ status: "canceled", message: "the run was canceled" });
      expect((await status(queueName)).counts.waiting).toBe(0);
    } finally {
      await runCli(["queue", "resume"], { env: { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queueName } });
    }
    expect(existsSync(join(dir, "never-ran"))).toBe(false);
  }, 40_000);

  it("SIGTERM: the worker stops taking tasks, cancels the running one after its grace period and hands it back to another worker", async () => {
    const long = uniqueSleep(300);
    const marker = join(dir, "shutdown.marker");
    const log = join(dir, "shutdown.log");
    const cmd = `echo "run $CC_EXECUTOR_WORKER" >> ${log}; if [ -e ${marker} ]; then echo second-run; else echo $CC_EXECUTOR_WORKER > ${marker}; sleep ${long}; fi`;
    const run = await submitTaskList([{ id: "job", command: cmd }], { redisUrl: redis.url, queueName, home, cwd: dir });
    await waitUntil(() => liveSleeps(long).length === 1 && existsSync(marker) && readFileSync(marker, "utf8").trim() !== "", 15_000, "the task to start");
    const victimName = readFileSync(marker, "utf8").trim();
    const index = workers.findIndex((w) => w.name === victimName);
    const t0 = Date.now();
    const exit = await stopWorker(workers[index]!, 15_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(liveSleeps(long)).toEqual([]);
    expect(workers[index]!.logs().some((l) => /handed back to the queue/.test(l.msg ?? ""))).toBe(true);

    const summary = await run.finished();
    expect(summary).toMatchObject({ status: "completed", completed: 1 });
    const outcome = summary.tasks[0] as Outcome;
    expect(outcome.result).toContain("second-run");
    expect(outcome.worker).not.toBe(victimName);
    expect(readLines(log)).toEqual([`run ${victimName}`, `run ${outcome.worker}`]);
    workers[index] = await startCliWorker(spec(victimName));
  }, 40_000);

  it("a worker that hits the usage limit pauses itself until the reset and hands the task to another worker", async () => {
    const q2 = uniqueQueue("limit");
    const limitedFc = fakeClaude("usage_limit", { FAKE_CLAUDE_RESET_IN: "40" });
    const okFc = fakeClaude("success");
    const limited = await startCliWorker(spec("limited", { queueName: q2, env: limitedFc.env }));
    workers.push(limited);
    const events: TaskListEvent[] = [];
    const run = await submitTaskList(["Say hi"], { redisUrl: redis.url, queueName: q2, home, cwd: dir, onEvent: (e) => events.push(e) });
    await waitUntil(() => limitedFc.calls().length === 1, 15_000, "the limited worker to try the task");
    await waitUntil(() => events.some((e) => e.type === "task.activity" && e.activity.type === "claude" && e.activity.event.type === "waiting_for_limit"), 10_000, "the hand-back");
    const st = await status(q2);
    const rec = st.workers.find((w: { name: string }) => w.name === "limited");
    expect(Date.parse(rec.paused_until)).toBeGreaterThan(Date.now() + 25_000);
    expect(Date.parse(rec.paused_until)).toBeLessThan(Date.now() + 45_000);
    expect(st.counts.waiting).toBe(1); // handed back, waiting for a worker that can run it

    const ok = await startCliWorker(spec("ok", { queueName: q2, env: okFc.env }));
    workers.push(ok);
    const summary = await run.finished();
    expect(summary).toMatchObject({ status: "completed", completed: 1 });
    expect((summary.tasks[0] as Outcome).worker).toBe("ok");
    // the paused worker takes nothing more until the reset
    const next = await (await submitTaskList(["Say hi again"], { redisUrl: redis.url, queueName: q2, home, cwd: dir })).finished();
    expect((next.tasks[0] as Outcome).worker).toBe("ok");
    expect(limitedFc.calls()).toHaveLength(1);
    expect(okFc.calls()).toHaveLength(2);
  }, 40_000);

  it("--on-limit queue pauses the whole queue until the reset; the task waits delayed until then", async () => {
    const q3 = uniqueQueue("qlimit");
    const limitedFc = fakeClaude("usage_limit", { FAKE_CLAUDE_RESET_IN: "60" });
    const w = await startCliWorker(spec("qlimited", { queueName: q3, env: limitedFc.env, args: ["--on-limit", "queue"] }));
    workers.push(w);
    const run = await submitTaskList(["Say hi"], { redisUrl: redis.url, queueName: q3, home, cwd: dir });
    await waitUntil(() => limitedFc.calls().length === 1, 15_000, "the worker to try the task");
    let st: any;
    await sleep(300);
    for (let i = 0; i < 40 && !st?.paused; i++) st = await status(q3);
    expect(st.paused).toBe(true);
    expect(Date.parse(st.paused_until)).toBeGreaterThan(Date.now() + 40_000);
    expect(st.counts.delayed).toBe(1);
    const s = await run.cancel();
    expect(s.status).toBe("canceled");
    expect((await status(q3)).counts.delayed).toBe(0);
    expect(limitedFc.calls()).toHaveLength(1);
  }, 40_000);

  // Last: it restarts Redis under the workers of this file.
  it("Redis loses the queue (restart without persistence) while a task runs: the run ends failed instead of waiting forever", async () => {
    const long = uniqueSleep(300);
    const run = await submitTaskList([{ id: "lost", command: `sleep ${long}` }], { redisUrl: redis.url, queueName, home, cwd: dir, checkIntervalMs: 300 });
    await waitUntil(() => liveSleeps(long).length === 1, 15_000, "the task to start");
    await redis.stop(); // no persistence: every job is gone
    await redis.start();
    const summary = await run.finished();
    expect(summary.status).toBe("failed");
    expect(summary.tasks[0]).toMatchObject({ status: "failed", error_type: "queue_lost" });
    // the worker lost its lock with the data and stopped the task rather than run it unowned
    await waitUntil(() => liveSleeps(long).length === 0, 15_000, "the orphaned task to be stopped");
  }, 40_000);
});
