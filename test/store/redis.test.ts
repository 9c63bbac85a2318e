import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, RedisStore, type Store } from "../../src/store/index.js";
import { freePort, redisAnswers, startRedis, type TestRedis } from "../helpers/redis.js";
import { describeStoreContract } from "./contract.js";

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.dispose();
  if (redis) expect(await redisAnswers(redis.port)).toBe(false);
});

const fast = { commandTimeoutMs: 1000, reconnectMaxDelayMs: 100, retryIntervalMs: 100, waitMs: 2000 };

describeStoreContract("redis", () => RedisStore.connect({ url: redis.url, prefix: `t:${randomUUID()}:`, ...fast }));

/** A pino logger whose lines we can count. */
function captureLogger() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: "debug" }, sink), lines, warnings: () => lines.filter((l) => l.level === 40) };
}

async function until(cond: () => Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const start = (id: string, i: number) => ({
  id,
  kind: "command" as const,
  label: `echo ${id}`,
  digest: "d",
  category: "cmd:echo",
  started_at: Date.now() - 60_000 + i,
});

describe("RedisStore", () => {
  it("keeps every key under its prefix, with TTLs", async () => {
    const prefix = `t:${randomUUID()}:`;
    const store = await RedisStore.connect({ url: redis.url, prefix, executionTtlS: 100, runTtlS: 200, ...fast });
    await store.recordExecutionStart(start("a", 1));
    await store.recordExecutionEnd("a", { status: "completed" });
    await store.saveTaskListRun({ run_id: "r", name: "n", source: "s", status: "running", started_at: 1, tasks_total: 1, tasks_done: 0, tasks_failed: 0, checkpoint_path: "/c" });
    const raw = new Redis(redis.url);
    try {
      const keys = (await raw.keys(`${prefix}*`)).sort();
      expect(keys).toEqual([`${prefix}exec:a`, `${prefix}exec:cat:cmd:echo`, `${prefix}exec:categories`, `${prefix}exec:index`, `${prefix}run:index`, `${prefix}run:r`].sort());
      const execTtl = await raw.pttl(`${prefix}exec:a`);
      expect(execTtl).toBeGreaterThan(90_000);
      expect(execTtl).toBeLessThanOrEqual(100_000);
      const runTtl = await raw.pttl(`${prefix}run:r`);
      expect(runTtl).toBeGreaterThan(190_000);
      expect(runTtl).toBeLessThanOrEqual(200_000);
      // An expired record disappears from lists too (its index member is pruned on read).
      await raw.del(`${prefix}exec:a`);
      expect(await store.listExecutions()).toEqual([]);
      expect(await raw.zcard(`${prefix}exec:index`)).toBe(0);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it("openStore with a Redis URL gives a Redis store", async () => {
    const store = await openStore({ home: "/nonexistent-home", redisUrl: redis.url, redis: { prefix: `t:${randomUUID()}:` } });
    expect(await store.health()).toMatchObject({ backend: "redis", status: "ok" });
    await store.close();
  });

  it("survives redis-server going away: calls resolve, health degraded, one warning, flush on return", async () => {
    const server = await startRedis();
    const { logger, warnings, lines } = captureLogger();
    const prefix = `t:${randomUUID()}:`;
    const store: Store = await RedisStore.connect({ url: server.url, prefix, logger, ...fast });
    const raw = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await store.recordExecutionStart(start("before", 1));
      expect(await store.health()).toMatchObject({ status: "ok" });

      // Persisted so that the record written before the outage is still there afterwards.
      await server.stop({ persist: true });

      await store.recordExecutionEnd("before", { status: "completed", exit_code: 0 }); // its start is in Redis
      for (let i = 0; i < 5; i++) await store.recordExecutionStart(start(`during-${i}`, 10 + i));
      await store.recordExecutionEnd("during-0", { status: "completed", ended_at: Date.now() });
      await store.saveTaskListRun({ run_id: "r-during", name: "n", source: "s", status: "running", started_at: 5, tasks_total: 2, tasks_done: 1, tasks_failed: 0, checkpoint_path: "/c" });

      const h = await store.health();
      expect(h.status).toBe("degraded");
      expect(h.detail).toMatch(/7 writes buffered in memory, 0 dropped/);
      // Reads answer from the buffer, without throwing.
      expect((await store.getExecution("during-0"))?.status).toBe("completed");
      expect(await store.getExecution("before")).toBeUndefined();
      expect((await store.listExecutions({ limit: 3 })).map((r) => r.id)).toEqual(["during-4", "during-3", "during-2"]);
      expect(await store.recentDurations("cmd:echo", 10)).toHaveLength(1);
      expect((await store.getTaskListRun("r-during"))?.tasks_done).toBe(1);
      expect(await store.listTaskListRuns()).toHaveLength(1);
      expect(await store.clearExecutions({ before: 0 })).toBe(0);
      expect(warnings()).toHaveLength(1);

      await server.start();
      await until(async () => (await store.health()).status === "ok", 10_000, "store to recover");
      await raw.connect();
      const during = JSON.parse((await raw.get(`${prefix}exec:during-4`))!);
      expect(during).toMatchObject({ id: "during-4", status: "running" });
      expect(JSON.parse((await raw.get(`${prefix}exec:before`))!)).toMatchObject({ status: "completed", exit_code: 0 });
      expect((await store.listExecutions()).map((r) => r.id)).toEqual(["during-4", "during-3", "during-2", "during-1", "during-0", "before"]);
      expect(await store.recentDurations("cmd:echo", 10)).toHaveLength(2);
      expect((await store.getTaskListRun("r-during"))?.name).toBe("n");
      expect((await store.health()).detail).not.toMatch(/buffered/);
      expect(lines.some((l) => l.level === 30 && /back/.test(l.msg))).toBe(true);
      expect(warnings()).toHaveLength(1);
    } finally {
      raw.disconnect();
      await store.close();
      await server.dispose();
    }
  });

  it("starts degraded when Redis is not there, bounds its buffer, and flushes when Redis appears", async () => {
    const port = await freePort();
    const { logger, warnings } = captureLogger();
    const prefix = `t:${randomUUID()}:`;
    const t0 = Date.now();
    const store = await RedisStore.connect({ url: `redis://127.0.0.1:${port}`, prefix, logger, maxBuffer: 5, ...fast, waitMs: 300 });
    expect(Date.now() - t0).toBeLessThan(5000);
    let server: TestRedis | undefined;
    try {
      for (let i = 0; i < 8; i++) await store.recordExecutionStart(start(`x${i}`, i));
      const h = await store.health();
      expect(h).toMatchObject({ backend: "redis", status: "degraded" });
      expect(h.detail).toMatch(/5 writes buffered in memory, 3 dropped/);
      expect((await store.listExecutions()).map((r) => r.id)).toEqual(["x7", "x6", "x5", "x4", "x3"]);
      // One warning for the outage, one for the first drop: not one per call.
      expect(warnings().map((w) => w.msg)).toEqual([expect.stringMatching(/unreachable/), expect.stringMatching(/buffer full/)]);

      server = await startRedis({ port });
      await until(async () => (await store.health()).status === "ok", 10_000, "store to recover");
      expect((await store.listExecutions()).map((r) => r.id)).toEqual(["x7", "x6", "x5", "x4", "x3"]);
      expect(await store.getExecution("x0")).toBeUndefined();
      expect(warnings().at(-1)).toMatchObject({ dropped: 3, flushed: 5 });
    } finally {
      await store.close();
      await server?.dispose();
    }
  });
});
