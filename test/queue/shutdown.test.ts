/**
 * `cc-executor worker` stops on SIGTERM whatever Redis does: a real redis-server that is frozen
 * (SIGSTOP: connections hang, nothing answers) or gone (stopped), a real worker process from the
 * built CLI (run `npm run build` first). Checks the process table, not the worker's word.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { submitTaskList } from "../../src/queue/index.js";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startCliWorker, tempDir, uniqueQueue, type CliWorker } from "./helpers.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(grace: number): Promise<{ redis: TestRedis; worker: CliWorker; queueName: string; dir: string }> {
  const redis = await startRedis();
  cleanups.push(() => redis.dispose());
  const dir = tempDir();
  const queueName = uniqueQueue("stop");
  const worker = await startCliWorker({ redisUrl: redis.url, queueName, name: "stopper", home: join(dir, "home"), concurrency: 1, args: ["--shutdown-grace", String(grace)] });
  cleanups.push(() => worker.child.kill("SIGKILL"));
  return { redis, worker, queueName, dir };
}

/** Freezes redis-server (SIGSTOP): connections stay open and nothing is ever answered. Thawed after the test. */
function freeze(redis: TestRedis): void {
  const pid = redis.pid()!;
  process.kill(pid, "SIGSTOP");
  cleanups.push(() => {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // stopped meanwhile
    }
  });
}

async function exitWithin(worker: CliWorker, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const t0 = Date.now();
  const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms));
  const exit = await Promise.race([worker.exited, timer]);
  if (exit === "timeout") throw new Error(`the worker did not exit within ${ms} ms; its log: ${worker.stderr().slice(-2000)}`);
  return { ...exit, ms: Date.now() - t0 };
}

/** A worker (task grace `graceS`) running a long task; then Redis freezes and the worker gets SIGTERM. */
async function sigtermWhileRedisFrozen(graceS: number) {
  const { redis, worker, queueName, dir } = await setup(graceS);
  const s = uniqueSleep();
  cleanups.push(() => liveSleeps(s).forEach((p) => process.kill(p.pid, "SIGKILL")));
  const run = await submitTaskList([{ id: "long", command: `sleep ${s}` }], { redisUrl: redis.url, queueName, home: join(dir, "submitter"), cwd: dir });
  cleanups.push(() => run.executor.close());
  await waitUntil(() => liveSleeps(s).length === 1, 15_000, "the task to start");
  freeze(redis);
  worker.child.kill("SIGTERM");
  return { worker, s };
}

describe("worker shutdown whatever Redis does", () => {
  it("Redis frozen while a task runs: SIGTERM kills the task after the grace period and exits", async () => {
    const { worker, s } = await sigtermWhileRedisFrozen(2);
    // grace 2 s, then the task's kill grace (3 s) at most, and a bounded goodbye to Redis
    const exit = await exitWithin(worker, 7000);
    expect(exit.code).not.toBeNull();
    expect(liveSleeps(s)).toEqual([]);
  }, 40_000);

  it("Redis frozen while a task runs, long grace: the first SIGTERM waits for the task, a second one ends it and exits at once", async () => {
    const { worker, s } = await sigtermWhileRedisFrozen(60);
    await new Promise((r) => setTimeout(r, 1500));
    expect(worker.child.exitCode).toBeNull(); // the task has 60 s to finish
    expect(liveSleeps(s)).toHaveLength(1);
    worker.child.kill("SIGTERM");
    const exit = await exitWithin(worker, 6000); // the task's kill grace (3 s) and no more
    expect(exit.code).not.toBeNull();
    expect(liveSleeps(s)).toEqual([]);
  }, 40_000);

  it("Redis gone, nothing running: one SIGTERM is enough (within the grace period)", async () => {
    const { redis, worker } = await setup(3);
    await redis.stop();
    await new Promise((r) => setTimeout(r, 500));
    worker.child.kill("SIGTERM");
    const exit = await exitWithin(worker, 4500); // its 3 s grace, and the process's own exit
    expect(exit.code).not.toBeNull();
  }, 30_000);
});
