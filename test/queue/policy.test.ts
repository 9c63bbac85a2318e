/** Workers apply the same command policy and hooks as the server: Redis access is not a way around them. */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { trustHooksFile } from "../../src/hooks/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitTaskList } from "../../src/queue/index.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startCliWorker, stopWorker, tempDir, uniqueQueue, type CliWorker } from "./helpers.js";

describe("distributed mode: policy and hooks on workers", () => {
  let redis: TestRedis;
  let worker: CliWorker;
  const queueName = uniqueQueue("pol");
  const dir = tempDir();
  const project = join(dir, "project");

  beforeAll(async () => {
    redis = await startRedis();
    mkdirSync(join(project, ".cc-executor"), { recursive: true });
    writeFileSync(join(project, ".cc-executor", "hooks.json"), JSON.stringify({ hooks: { "pre-execute": { command: `grep -q forbidden-by-hook && echo '{"proceed": false, "message": "hook says no"}' || true` } } }));
    trustHooksFile(join(dir, "home-wp"), join(project, ".cc-executor", "hooks.json")); // the worker's user trusted the project's hooks
    worker = await startCliWorker({ redisUrl: redis.url, queueName, name: "wp", home: join(dir, "home-wp"), args: ["--cwd", project], env: { CC_EXECUTOR_DENY: "^touch " } });
  }, 30_000);

  afterAll(async () => {
    await stopWorker(worker);
    await redis?.dispose();
  }, 30_000);

  it("a denied command and a hook-refused command fail without running; allowed ones run", async () => {
    const submitted = await submitTaskList(
      { on_failure: "continue", tasks: [{ command: `touch ${join(dir, "denied")}` }, { command: `echo forbidden-by-hook > ${join(dir, "hooked")}` }, { command: "echo allowed" }] },
      { redisUrl: redis.url, queueName, home: join(dir, "submitter"), cwd: dir },
    );
    const summary = await submitted.finished();
    expect(summary.tasks.map((t) => t.status)).toEqual(["failed", "failed", "completed"]);
    expect(summary.tasks[0]).toMatchObject({ error_type: "hook_refused", message: expect.stringMatching(/command not allowed/) });
    expect(summary.tasks[1]).toMatchObject({ error_type: "hook_refused", message: "hook says no" });
    expect(existsSync(join(dir, "denied"))).toBe(false);
    expect(existsSync(join(dir, "hooked"))).toBe(false);
  }, 40_000);
});
