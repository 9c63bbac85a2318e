/**
 * `cc-executor test stress` and `cc-executor test assess`, run as the built CLI (npm test builds
 * first), against an in-process server or a real server process.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fakeClaude } from "../helpers/fake-claude.js";
import { processTable } from "../helpers/procs.js";
import { spawnServerProcess, type ServerProcess } from "../helpers/server-process.js";

/** A state dir of its own and a port nobody listens on: the commands start an in-process server. */
const isolated = () => ({ CC_EXECUTOR_HOME: mkdtempSync(join(tmpdir(), "cce-selftest-")), CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 30000)) });

describe("cc-executor test stress", () => {
  let srv: ServerProcess;
  beforeAll(async () => {
    srv = await spawnServerProcess();
  });
  afterAll(async () => {
    await srv.stop();
  });

  it("runs N real executions P at a time through an in-process server: --json report with percentiles, throughput and RSS", async () => {
    const r = await runCli(["test", "stress", "--tasks", "12", "--parallel", "3", "--json"], { env: isolated() });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ kind: "stress", ok: true, mode: "command", tasks: 12, parallel: 3, completed: 12, failed: 0, failures: [], target: expect.stringMatching(/in-process/) });
    expect(report.latency_ms.p50).toBeGreaterThan(0);
    expect(report.latency_ms.p99).toBeGreaterThanOrEqual(report.latency_ms.p50);
    expect(report.throughput_per_s).toBeGreaterThan(0);
    expect(report.server_rss.before).toBeGreaterThan(10 * 1024 * 1024);
  });

  it("through a running server: its pid's RSS from /proc, executions visible in its history, and a markdown --report", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "cce-stress-")), "stress.md");
    const env = { CC_EXECUTOR_HOME: srv.home, CC_EXECUTOR_PORT: String(srv.port) };
    const r = await runCli(["test", "stress", "--tasks", "8", "--parallel", "4", "--command", "printf task-{i}", "--report", file], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/in-process/);
    expect(r.stdout).toMatch(/# cc-executor stress test: PASS/);
    const md = readFileSync(file, "utf8");
    expect(md).toContain(`server: ${srv.url}`);
    expect(md).toMatch(/\| min \| p50 \| p90 \| p99 \| max \| mean \|/);
    expect(md).toContain(`Server memory (pid ${srv.pid})`);
    const history = JSON.parse((await runCli(["history", "list", "--json", "--limit", "50"], { env })).stdout) as Array<{ label: string; status: string }>;
    for (let i = 0; i < 8; i++) expect(history.find((h) => h.label === `printf task-${i}`)?.status).toBe("completed");
  });

  it("counts failures and exits 1 when any task fails", async () => {
    const r = await runCli(["test", "stress", "--tasks", "4", "--parallel", "2", "--command", "echo no >&2; exit 3", "--json"], { env: isolated() });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ ok: false, completed: 0, failed: 4 });
    expect(report.failures[0]).toMatchObject({ status: "failed", exit_code: 3, error: "no" });
  });

  it("--claude runs cc_execute with the configured claude binary (fake-claude here), and reports its failures", async () => {
    const fc = fakeClaude("success");
    const ok = await runCli(["test", "stress", "--claude", "--tasks", "3", "--parallel", "3", "--json"], { env: { ...isolated(), ...fc.env } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ mode: "claude", completed: 3, failed: 0 });
    expect(fc.calls()).toHaveLength(3);
    const auth = fakeClaude("auth");
    const bad = await runCli(["test", "stress", "--claude", "--tasks", "2", "--json"], { env: { ...isolated(), ...auth.env } });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).failures[0]).toMatchObject({ status: "auth" });
  });

  it("rejects bad options as usage errors", async () => {
    expect((await runCli(["test", "stress", "--tasks", "0"], { env: isolated() })).code).toBe(2);
    expect((await runCli(["test", "stress", "--prompt", "x"], { env: isolated() })).code).toBe(2);
  });
});

describe("cc-executor test assess", () => {
  it("core, cli and hooks all pass on this install (in-process server), leaving nothing running", async () => {
    const before = new Set(processTable().map((p) => p.pid));
    const r = await runCli(["test", "assess", "core", "cli", "hooks", "--json"], { env: isolated(), timeoutMs: 60_000 });
    const report = JSON.parse(r.stdout);
    expect(report.checks.filter((c: { status: string }) => c.status !== "pass")).toEqual([]);
    expect(r.code).toBe(0);
    expect(report).toMatchObject({ kind: "assess", ok: true, suites: ["core", "cli", "hooks"], failed: 0 });
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(["timeout kills the whole process group", "cancel kills the whole process group", "pause stops the group, resume continues it", "a refusing pre-execute hook stops the command", "run --timeout kills and exits 124"]),
    );
    const leftovers = processTable().filter((p) => !before.has(p.pid) && /sleep 300\./.test(p.cmdline) && p.state !== "Z");
    expect(leftovers).toEqual([]);
  }, 60_000);

  it("reports failures (exit 1, with the reason) when the server does not behave: here it refuses `sleep`", async () => {
    const strict = await spawnServerProcess({ CC_EXECUTOR_DENY: "^sleep\\b" });
    try {
      const r = await runCli(["test", "assess", "core", "--json", "--url", strict.url, "--token", strict.token]);
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout);
      const timeout = report.checks.find((c: { name: string }) => c.name === "timeout kills the whole process group");
      expect(timeout).toMatchObject({ status: "fail", detail: expect.stringMatching(/not allowed/i) });
      expect(report.checks.find((c: { name: string }) => c.name === "execute: output and exit code").status).toBe("pass");
    } finally {
      await strict.stop();
    }
  });

  it("text output names each check; an unknown suite is a usage error", async () => {
    const r = await runCli(["test", "assess", "hooks"], { env: isolated() });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/PASS\s+hooks a refusing pre-execute hook stops the command/);
    expect(r.stderr).toMatch(/3 passed, 0 failed, 0 skipped/);
    expect((await runCli(["test", "assess", "nope"], { env: isolated() })).code).toBe(2);
  });
});
