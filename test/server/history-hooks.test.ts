import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorClient } from "../../src/client/index.js";
import { trustHooksFile } from "../../src/hooks/index.js";
import { runCli } from "../helpers/cli.js";
import { fakeClaude } from "../helpers/fake-claude.js";
import { spawnServerProcess } from "../helpers/server-process.js";
import { Redis } from "ioredis";
import { startRedis } from "../helpers/redis.js";
import { RawPeer, startTestServer, type TestServer } from "../helpers/server.js";

function writeHooks(dir: string, hooks: Record<string, unknown>): void {
  mkdirSync(join(dir, ".cc-executor"), { recursive: true });
  writeFileSync(join(dir, ".cc-executor", "hooks.json"), JSON.stringify({ hooks }));
}

describe("history and timeout estimation through the server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.cleanup());

  it("a command without a timeout gets a default estimate, then one from history once the class has samples", async () => {
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const estimates: Array<Record<string, unknown>> = [];
    client.on("notification", (ev) => {
      if (ev.method === "process.started") estimates.push((ev.params as { timeout_estimate: Record<string, unknown> }).timeout_estimate);
    });
    for (let i = 0; i < 4; i++) await client.execute("sleep 0.2");
    expect(estimates[0]).toEqual({ timeout_s: 600, basis: "default", samples: 0, category: "cmd:sleep" });
    expect(estimates[2]).toMatchObject({ basis: "default", samples: 2 });
    // three successful runs of ~0.2 s: p90 x 1.2 is under a second, so the floor (10 s) applies
    expect(estimates[3]).toEqual({ timeout_s: 10, basis: "history", samples: 3, category: "cmd:sleep" });
    // an explicit timeout is used as given, with no estimate
    const started = client.stream("sleep 0.1", { timeout: 5 });
    for await (const ev of started) if (ev.method === "process.started") expect(ev.params).toMatchObject({ timeout: 5 });
    await client.close();
  });

  it("records executions (exit code, duration, status) that the history CLI lists, shows, summarises and clears", async () => {
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const ok = await client.execute("echo recorded-ok", { timeout: 10 });
    await client.execute("exit 4", { timeout: 10 });
    await client.close();
    await new Promise((r) => setTimeout(r, 100)); // history is written after the terminal notification
    const env = { CC_EXECUTOR_HOME: server.home };
    const list = JSON.parse((await runCli(["history", "list", "--json", "--limit", "50"], { env })).stdout);
    const failed = list.find((r: { label: string }) => r.label === "exit 4");
    expect(failed).toMatchObject({ kind: "command", status: "failed", exit_code: 4, category: "cmd:exit", timeout_s: 10, timeout_basis: "explicit" });
    const show = await runCli(["history", "show", ok.executionId.slice(0, 8), "--json"], { env });
    expect(JSON.parse(show.stdout)).toMatchObject({ id: ok.executionId, status: "completed", exit_code: 0, label: "echo recorded-ok" });
    const onlyFailed = JSON.parse((await runCli(["history", "list", "--status", "failed", "--json"], { env })).stdout);
    expect(onlyFailed.every((r: { status: string }) => r.status === "failed")).toBe(true);
    const stats = JSON.parse((await runCli(["history", "stats", "--json"], { env })).stdout);
    expect(stats.find((c: { category: string }) => c.category === "cmd:exit")).toMatchObject({ count: 1, finished: 1, success_rate: 0 });
    expect(stats.find((c: { category: string }) => c.category === "cmd:sleep").p90_ms).toBeGreaterThan(100);
    const none = await runCli(["history", "show", "zzzzzzzz"], { env });
    expect(none.code).toBe(2);
    const cleared = JSON.parse((await runCli(["history", "clear", "--before", "0s", "--json"], { env })).stdout);
    expect(cleared.deleted).toBeGreaterThanOrEqual(6);
    expect(JSON.parse((await runCli(["history", "list", "--json"], { env })).stdout)).toEqual([]);
    expect((await runCli(["history", "clear", "--before", "soon"], { env })).code).toBe(2);
  });

  it("a claude task without a timeout gets a per-complexity default; task-list tasks are recorded with their run", async () => {
    const fc = fakeClaude("success");
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const peer = await RawPeer.open(server.url, { token: server.token });
    const res = await peer.request(1, "cc_execute", { prompt: "What is 2+2?", env: fc.env });
    expect(res.result.timeout_estimate).toEqual({ timeout_s: 300, basis: "default", samples: 0, category: "claude:simple" });
    await peer.waitFor((m) => m.method === "claude.completed");
    await peer.close();
    const summary = await client.runTaskList({ tasks: [{ command: "echo in-a-list" }, "Say hi"] }, { cwd: server.home, env: fc.env });
    await client.close();
    await new Promise((r) => setTimeout(r, 100));
    const list = JSON.parse((await runCli(["history", "list", "--kind", "task", "--json"], { env: { CC_EXECUTOR_HOME: server.home } })).stdout);
    expect(list.map((r: { task_list_run_id: string }) => r.task_list_run_id)).toEqual([summary.run_id, summary.run_id]);
    expect(list.find((r: { label: string }) => r.label === "Say hi")).toMatchObject({ status: "completed", input_tokens: 1500, output_tokens: 420, cost_usd: 0.0123, uuid_verified: true });
  });
});

describe("history survives a kill -9 of the server", () => {
  it("an execution recorded before the crash is listed after it", async () => {
    const srv = await spawnServerProcess();
    const client = await ExecutorClient.connect({ url: srv.url, token: srv.token });
    const r = await client.execute("echo before-the-crash", { timeout: 10 });
    await client.close();
    await new Promise((res) => setTimeout(res, 200));
    srv.child.kill("SIGKILL");
    await srv.exited;
    const list = JSON.parse((await runCli(["history", "list", "--json"], { env: { CC_EXECUTOR_HOME: srv.home } })).stdout);
    expect(list[0]).toMatchObject({ id: r.executionId, status: "completed", exit_code: 0 });
  });
});

describe("hooks through the server", () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer({ claudeRetryDelayMs: 10 });
    dir = server.home;
    writeHooks(dir, {
      "pre-execute": [
        { command: `grep -q 'rm -rf' && { echo '{"proceed": false, "message": "no rm -rf here"}'; } || true` },
        { command: `sh -c 'case "$CC_EXECUTOR_COMMAND" in "say old") echo "{\\"command\\": \\"echo new\\"}";; esac'` },
        { command: "exit 9" },
      ],
      "post-claude": { command: `test -f "${join(dir, "tests-pass")}" || { echo '{"proceed": false, "message": "the project tests fail"}'; }` },
      "pre-task": { module: "./guard.mjs" },
      "post-task-list": { command: `cat > "${join(dir, "list-summary.json")}"` },
    });
    writeFileSync(join(dir, ".cc-executor", "guard.mjs"), `export default (ctx) => ctx.task.title === "deploy" ? { proceed: false, message: "no deploys" } : undefined;\n`);
    trustHooksFile(server.home, join(dir, ".cc-executor", "hooks.json")); // as `cc-executor hooks trust` does
  });
  afterAll(() => server.cleanup());

  it("pre-execute: a refusal is -32001 with the hook's message; a rewrite runs the new command; a failing hook is a hook.warning", async () => {
    const peer = await RawPeer.open(server.url, { token: server.token });
    const refused = await peer.request(1, "execute", { command: "rm -rf /tmp/nothing-here", timeout: 5 });
    expect(refused.error).toEqual({ code: -32001, message: "Command not allowed: no rm -rf here" });
    const ok = await peer.request(2, "execute", { command: "say old", timeout: 5 });
    expect(ok.result.status).toBe("started");
    const done = await peer.waitFor((m) => m.method === "process.completed" && m.params.execution_id === ok.result.execution_id);
    expect(done.params.status).toBe("completed");
    expect(peer.notifications("process.output").map((m) => m.params.data).join("")).toBe("new\n");
    expect(peer.notifications("hook.warning")[0]!.params).toMatchObject({ event: "pre-execute", execution_id: ok.result.execution_id, message: expect.stringMatching(/exited with code 9/) });
    const status = await peer.request(3, "hook_status");
    expect(status.result).toMatchObject({ enabled: true, events: { "pre-execute": 3, "post-claude": 1, "pre-task": 1 }, builtin: [{ name: "uuid-check" }] });
    await peer.close();
  });

  it("post-claude: a hook answering proceed:false (the tests fail) marks the task failed, and passes once they pass", async () => {
    const fc = fakeClaude("success");
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const failed = await client.claude("Fix the bug", { env: fc.env, timeout: 30 });
    expect(failed).toMatchObject({ success: false, error_type: "hook_rejected", message: expect.stringContaining("the project tests fail"), uuid_verified: true });
    writeFileSync(join(dir, "tests-pass"), "");
    const passed = await client.claude("Fix the bug", { env: fc.env, timeout: 30 });
    expect(passed.success).toBe(true);
    await client.close();
  });

  it("pre-task refuses one task (failed, nothing run); post-task-list gets the summary on stdin", async () => {
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const summary = await client.runTaskList({ on_failure: "continue", tasks: [{ command: "echo build", title: "build" }, { command: "touch deployed", title: "deploy" }] }, { cwd: dir });
    expect(summary.tasks.map((t) => t.status)).toEqual(["completed", "failed"]);
    expect(summary.tasks[1]).toMatchObject({ error_type: "hook_refused", message: "no deploys" });
    expect(existsSync(join(dir, "deployed"))).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    const seen = JSON.parse(readFileSync(join(dir, "list-summary.json"), "utf8"));
    expect(seen).toMatchObject({ event: "post-task-list", result: { run_id: summary.run_id, completed: 1 } });
    await client.close();
  });
});

describe("a store that cannot be reached", () => {
  it("with Redis down the server reports degraded in /health and still runs commands", async () => {
    const server = await startTestServer({ redisUrl: "redis://127.0.0.1:1" });
    try {
      const health = await (await fetch(`${server.httpUrl}/health`, { headers: { authorization: `Bearer ${server.token}` } })).json();
      expect(health).toMatchObject({ status: "degraded", store: { backend: "redis", status: "degraded" } });
      const client = await ExecutorClient.connect({ url: server.url, token: server.token });
      const r = await client.execute("echo still-works", { timeout: 5 });
      expect(r).toMatchObject({ success: true, stdout: "still-works\n" });
      await client.close();
    } finally {
      await server.cleanup();
    }
  });
});

describe("history in Redis", () => {
  it("with REDIS_URL the server records under CC_EXECUTOR_REDIS_PREFIX, and the history CLI reads it there", async () => {
    const redis = await startRedis();
    const server = await startTestServer({ redisUrl: redis.url, redisPrefix: "team-a:" });
    try {
      const client = await ExecutorClient.connect({ url: server.url, token: server.token });
      const r = await client.execute("echo into-redis", { timeout: 5 });
      await client.close();
      await new Promise((res) => setTimeout(res, 200));
      const reader = new Redis(redis.url);
      const keys = await reader.keys("*");
      reader.disconnect();
      expect(keys.some((k) => k.startsWith("team-a:"))).toBe(true);
      expect(keys.filter((k) => !k.startsWith("team-a:"))).toEqual([]);
      const env = { CC_EXECUTOR_HOME: server.home, REDIS_URL: redis.url, CC_EXECUTOR_REDIS_PREFIX: "team-a:" };
      const list = JSON.parse((await runCli(["history", "list", "--json"], { env })).stdout);
      expect(list[0]).toMatchObject({ id: r.executionId, status: "completed", label: "echo into-redis" });
    } finally {
      await server.cleanup();
      await redis.dispose();
    }
  });
});
