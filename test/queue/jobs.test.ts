/**
 * What a worker does with jobs written straight into Redis by someone other than a submitter:
 * malformed data fails as a job, and with CC_EXECUTOR_QUEUE_SECRET only jobs signed by a
 * submitter that knows it run. Real redis-server, real `cc-executor worker` processes (built CLI).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { queueJobId } from "../../src/queue/index.js";
import { signJob } from "../../src/queue/signing.js";
import { runCli } from "../helpers/cli.js";
import { liveSleeps, processTable, uniqueSleep } from "../helpers/procs.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startCliWorker, stopWorker, tempDir, uniqueQueue, type CliWorker } from "./helpers.js";

const SECRET = "correct horse battery staple 42";

/** A well-formed job as a submitter makes it: one direct task of run `runId`. */
function goodJob(runId: string, command: string, cwd: string) {
  return {
    request: {
      runId,
      task: { id: "t1", index: 1, title: command, method: "direct", command },
      command,
      timeoutS: 60,
      cwd,
      env: {},
      attempt: 1,
      executionId: `exec-${runId}`,
    },
    maxStalls: 1,
    submitter: { host: "test", pid: process.pid },
  };
}

describe("queue jobs written straight into Redis", () => {
  let redis: TestRedis;
  let raw: Redis;
  const dir = tempDir();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let n = 0;
  const runId = () => `tl-20260101-000000-${(++n).toString(16).padStart(6, "0")}`;

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
  }, 30_000);
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  afterAll(async () => {
    raw?.disconnect();
    await redis?.dispose();
  });

  async function setup(tag: string, env: Record<string, string> = {}): Promise<{ queueName: string; queue: Queue; worker: CliWorker }> {
    const queueName = uniqueQueue(tag);
    const queue = new Queue(queueName, { connection: { url: redis.url } });
    cleanups.push(() => queue.close());
    const worker = await startCliWorker({ redisUrl: redis.url, queueName, name: `w-${tag}`, home: join(dir, `home-${tag}`), concurrency: 1, env, args: ["--shutdown-grace", "1"] });
    cleanups.push(() => stopWorker(worker));
    return { queueName, queue, worker };
  }

  async function status(queueName: string) {
    const res = await runCli(["queue", "status", "--json"], { env: { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queueName } });
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout);
  }

  async function finishedState(queue: Queue, id: string): Promise<{ state: string; reason: string }> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const state = await queue.getJobState(id);
      if (state === "completed" || state === "failed") return { state, reason: (await raw.hget(`bull:${queue.name}:${id}`, "failedReason")) ?? "" };
      if (Date.now() > deadline) throw new Error(`job ${id} did not finish (state ${state})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("malformed jobs fail as jobs (shown in queue status); the worker keeps its heartbeat and runs the next good job", async () => {
    const { queueName, queue, worker } = await setup("bad");
    const marker = join(dir, "bad-marker");
    const bad: Array<[string, unknown]> = [
      ["empty", {}],
      ["no-task", { request: { runId: runId() } }],
      ["wrong-types", { ...goodJob(runId(), "true", dir), request: { ...goodJob(runId(), "true", dir).request, timeoutS: "soon", task: { id: 7, method: "rm -rf", index: 1, title: "x" } } }],
      ["no-command", { ...goodJob(runId(), "true", dir), request: { ...goodJob(runId(), "true", dir).request, command: undefined, task: { id: "t1", index: 1, title: "x", method: "direct" } } }],
    ];
    for (const [id, data] of bad) await queue.add("direct", data, { jobId: id });
    // Not even JSON: written into the job's hash by hand.
    await queue.add("direct", goodJob(runId(), "true", dir), { jobId: "not-json" });
    await raw.hset(`bull:${queueName}:not-json`, "data", "{this is not json");

    for (const [id] of [...bad, ["not-json"]] as Array<[string]>) {
      const { state, reason } = await finishedState(queue, id);
      expect(state, id).toBe("failed");
      expect(reason, id).toMatch(/invalid job/);
    }
    // The next good job still runs.
    const good = goodJob(runId(), `touch ${marker}`, dir);
    await queue.add("direct", good, { jobId: queueJobId(good.request) });
    expect((await finishedState(queue, queueJobId(good.request))).state).toBe("completed");
    expect(existsSync(marker)).toBe(true);

    const s = await status(queueName);
    expect(s.failed_jobs.map((j: { id: string }) => j.id).sort()).toEqual(["empty", "no-command", "no-task", "not-json", "wrong-types"]);
    for (const j of s.failed_jobs) expect(j.failed_reason).toMatch(/invalid job/);
    // Its heartbeat goes on: the record is fresh and lists nothing running.
    const record = s.workers.find((w: { name: string }) => w.name === worker.name);
    expect(record).toMatchObject({ running: [] });
    expect(Date.now() - Date.parse(record.heartbeat_at)).toBeLessThan(15_000);
  }, 60_000);

  it("queue status never crashes on garbage: worker records and job data that are not what it expects", async () => {
    const queueName = uniqueQueue("garbage");
    const queue = new Queue(queueName, { connection: { url: redis.url } });
    cleanups.push(() => queue.close());
    const base = `bull:${queueName}:ccx`;
    await raw.zadd(`${base}:workers`, Date.now() + 60_000, "junk-1", Date.now() + 60_000, "junk-2", Date.now() + 60_000, "junk-3");
    await raw.set(`${base}:worker:junk-1`, "{not json");
    await raw.set(`${base}:worker:junk-2`, JSON.stringify({ name: 42, running: "lots" }));
    await raw.set(`${base}:worker:junk-3`, "[]");
    await raw.set(`${base}:paused-until`, "whenever");
    await queue.add("direct", { request: { runId: "tl-x", task: "not an object" } }, { jobId: "odd-1" });
    await queue.add("direct", { request: { runId: 12, task: { id: ["a"], title: { t: 1 } } } }, { jobId: "odd-2" });
    await queue.add("direct", "just a string", { jobId: "odd-3" });
    await queue.add("direct", goodJob("tl-20260101-000000-abcdef", "true", dir), { jobId: "odd-4" });
    await raw.hset(`bull:${queueName}:odd-4`, "data", "{broken");
    const res = await runCli(["queue", "status", "--json"], { env: { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queueName } });
    expect(res.code, res.stderr).toBe(0);
    const s = JSON.parse(res.stdout);
    expect(s.waiting_jobs.map((j: { id: string }) => j.id).sort()).toEqual(["odd-1", "odd-2", "odd-3", "odd-4"]);
    const odd = s.waiting_jobs.find((j: { id: string }) => j.id === "odd-2");
    expect([odd.run_id, odd.task_id]).toEqual([undefined, undefined]); // shown by id only
    expect(s.problems).toContain("job odd-4: its data is not JSON");
    expect(s.workers).toEqual([]);
    expect(s.problems).toEqual(expect.arrayContaining([expect.stringMatching(/junk-1.*not a worker record/), expect.stringMatching(/junk-2.*not a worker record/), expect.stringMatching(/junk-3.*not a worker record/)]));
    const text = await runCli(["queue", "status"], { env: { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queueName } });
    expect(text.code, text.stderr).toBe(0);
  }, 30_000);

  describe("with CC_EXECUTOR_QUEUE_SECRET: only signed jobs run", () => {
    it("an unsigned job and an altered signed job are refused and run nothing; a correctly signed one runs", async () => {
      const { queue } = await setup("signed", { CC_EXECUTOR_QUEUE_SECRET: SECRET });
      const s = uniqueSleep();
      const unsignedMarker = join(dir, "unsigned-ran");
      const alteredMarker = join(dir, "altered-ran");
      const signedMarker = join(dir, "signed-ran");
      cleanups.push(() => liveSleeps(s).forEach((p) => process.kill(p.pid, "SIGKILL")));
      let sawOurs = false;
      const sampler = setInterval(() => (sawOurs ||= processTable().some((p) => p.cmdline.includes(s))), 20);
      cleanups.push(() => clearInterval(sampler));

      const unsigned = goodJob(runId(), `touch ${unsignedMarker}; sleep ${s}`, dir);
      await queue.add("direct", unsigned, { jobId: queueJobId(unsigned.request) });

      // A job signed by a submitter, then changed in Redis: its command swapped for another.
      const original = goodJob(runId(), "echo harmless", dir);
      const id = queueJobId(original.request);
      const signed = signJob(original, id, SECRET);
      const altered = { ...signed, request: { ...signed.request, command: `touch ${alteredMarker}; sleep ${s}`, task: { ...signed.request.task, command: `touch ${alteredMarker}; sleep ${s}` } } };
      await queue.add("direct", altered, { jobId: id });

      const ok = goodJob(runId(), `touch ${signedMarker}`, dir);
      const okId = queueJobId(ok.request);
      await queue.add("direct", signJob(ok, okId, SECRET), { jobId: okId });

      expect(await finishedState(queue, queueJobId(unsigned.request))).toEqual({ state: "failed", reason: expect.stringMatching(/unsigned/) });
      expect(await finishedState(queue, id)).toEqual({ state: "failed", reason: expect.stringMatching(/signature does not match/) });
      expect((await finishedState(queue, okId)).state).toBe("completed");
      expect(existsSync(signedMarker)).toBe(true);
      expect(existsSync(unsignedMarker)).toBe(false);
      expect(existsSync(alteredMarker)).toBe(false);
      expect(sawOurs).toBe(false); // nothing of theirs ever showed up in the process table
    }, 60_000);

    it("a signed job replayed under another job id, or older than the replay window, is refused", async () => {
      const { queue } = await setup("replay", { CC_EXECUTOR_QUEUE_SECRET: SECRET });
      const marker = join(dir, "replayed");
      const job = goodJob(runId(), `echo x >> ${marker}`, dir);
      const id = queueJobId(job.request);
      const signed = signJob(job, id, SECRET);
      await queue.add("direct", signed, { jobId: id });
      expect((await finishedState(queue, id)).state).toBe("completed");
      await queue.add("direct", signed, { jobId: `${id}-again` }); // the same data, copied
      expect(await finishedState(queue, `${id}-again`)).toEqual({ state: "failed", reason: expect.stringMatching(/signature does not match/) });
      const old = goodJob(runId(), `echo old >> ${marker}`, dir);
      const oldId = queueJobId(old.request);
      await queue.add("direct", signJob(old, oldId, SECRET, Date.now() - 8 * 24 * 3600_000), { jobId: oldId });
      expect(await finishedState(queue, oldId)).toEqual({ state: "failed", reason: expect.stringMatching(/older than/) });
      expect((await import("node:fs")).readFileSync(marker, "utf8")).toBe("x\n");
    }, 60_000);

    it("tasks run --queue signs with the same secret: the list runs end to end", async () => {
      const { queueName } = await setup("e2e", { CC_EXECUTOR_QUEUE_SECRET: SECRET });
      const plan = join(dir, "plan.yaml");
      (await import("node:fs")).writeFileSync(plan, "tasks:\n  - command: echo one\n  - command: echo two\n");
      const res = await runCli(["tasks", "run", plan, "--queue", "--json", "-C", dir], {
        env: { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queueName, CC_EXECUTOR_HOME: join(dir, "submitter"), CC_EXECUTOR_QUEUE_SECRET: SECRET },
        timeoutMs: 45_000,
      });
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ status: "completed", completed: 2 });
      const unsigned = await runCli(["tasks", "run", plan, "--queue", "--json", "-C", dir], {
        env: { REDIS_URL: redis.url, CC_EXECUTOR_QUEUE: queueName, CC_EXECUTOR_HOME: join(dir, "submitter") },
        timeoutMs: 45_000,
      });
      expect(unsigned.code).toBe(1);
      expect(JSON.parse(unsigned.stdout).tasks[0]).toMatchObject({ status: "failed", message: expect.stringMatching(/unsigned/) });
    }, 90_000);
  });
});
