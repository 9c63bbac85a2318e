/*
 * `--detach` and `wait` through the built CLI, with fake-claude: runs owned by a background server
 * that the CLI starts when none runs, results read back from the run folder (also once the server
 * is gone), the "still running" answer and its exit code, the default wait bound.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, type CliRun } from "../helpers/cli.js";
import { fakeClaude } from "../helpers/fake-claude.js";
import { processTable, uniqueSleep, waitUntil } from "../helpers/procs.js";

const STILL_RUNNING = 4;

/** A state dir and port per test, and the daemon the CLI starts there stopped afterwards. */
function sandbox(scenario = "success", extra: Record<string, string> = {}) {
  const fc = fakeClaude(scenario, extra);
  const env = { ...fc.env, CC_EXECUTOR_HOME: fc.home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 30000)) };
  const cli = (args: string[], more: Record<string, string> = {}, timeoutMs = 60_000) => runCli(args, { env: { ...env, ...more }, cwd: fc.home.replace(/home$/, ""), timeoutMs });
  cleanups.push(async () => {
    const pid = daemonPid(fc.home, Number(env.CC_EXECUTOR_PORT));
    if (pid) await cli(["server", "stop"]);
  });
  return { fc, env, cli };
}

/** The pid in the server's runtime file for the port (written by the server itself). */
function daemonPid(home: string, port: number): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(home, "servers", `${port}.json`), "utf8")) as { pid: number }).pid || undefined;
  } catch {
    return undefined;
  }
}

const alive = (pid: number) => processTable().some((p) => p.pid === pid && p.state !== "Z");
const json = (r: CliRun) => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\nstderr: ${r.stderr}`);
  }
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("claude --detach, then wait", () => {
  it("starts a background server, returns the id at once; wait reports running (exit 4), then the result; the result outlives the server", async () => {
    const { fc, cli, env } = sandbox("success", { FAKE_CLAUDE_WORK_MS: "6000" });
    const marker = `detached ${uniqueSleep()}`;
    const started = await cli(["claude", "--detach", "--json", marker]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).toMatch(/no server was running at .*: started one in the background \(pid \d+/);
    const out = json(started);
    expect(out).toEqual({ id: expect.any(String), kind: "claude", status: "running", wait_command: `cc-executor wait ${out.id} --json`, logs_command: `cc-executor logs ${out.id}`, run_dir: join(fc.home, "runs", out.id) });
    const daemon = daemonPid(fc.home, Number(env.CC_EXECUTOR_PORT))!;
    expect(alive(daemon)).toBe(true);

    const early = await cli(["wait", out.id, "--json", "--max-wait", "0"]);
    expect(early.code, early.stderr).toBe(STILL_RUNNING);
    expect(json(early)).toMatchObject({ id: out.id, kind: "claude", status: "running", finished: false, elapsed_ms: expect.any(Number), started_at: expect.any(String), wait_command: out.wait_command, estimate: { basis: "none", remaining_ms: null } });

    const done = await cli(["wait", out.id, "--json", "--max-wait", "45"]);
    expect(done.code, done.stderr).toBe(0);
    const result = json(done);
    expect(result).toMatchObject({ success: true, execution_id: out.id, uuid_verified: true, attempts: 1, result: expect.stringContaining(marker) });
    expect(fc.calls().filter((c) => c.prompt.includes(marker))).toHaveLength(1);
    // its output, as for any claude task
    const logs = await cli(["logs", out.id]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain(`Completed: ${marker}`);

    // After the fact, with no server at all: the same result from the run folder.
    expect((await cli(["server", "stop"])).code).toBe(0);
    expect(alive(daemon)).toBe(false);
    const later = await cli(["wait", out.id, "--json"]);
    expect(later.code).toBe(0);
    expect(json(later)).toEqual(result);
    expect(processTable().filter((p) => p.cmdline.includes(marker) && p.state !== "Z")).toEqual([]);
  }, 120_000);

  it("a server still starting when the caller's time is up: exit 4, nothing started; the same command again gets the run, from the one server", async () => {
    const { fc, cli } = sandbox();
    const marker = `starting ${uniqueSleep()}`;
    // BASH_DEFAULT_TIMEOUT_MS=200: 0.1 s from the command's own start, far too little for a server to come up
    const early = await cli(["claude", "--detach", "--json", marker], { BASH_DEFAULT_TIMEOUT_MS: "200" });
    expect(early.code, early.stderr).toBe(STILL_RUNNING);
    expect(json(early)).toMatchObject({ status: "starting", started: false, server_pid: expect.any(Number) });
    expect(early.stderr).toMatch(/still starting; nothing was started yet: run the same command again/);
    const again = await cli(["claude", "--detach", "--json", marker]);
    expect(again.code, again.stderr).toBe(0);
    const id = json(again).id;
    const done = await cli(["wait", id, "--json", "--max-wait", "45"]);
    expect(done.code, done.stderr).toBe(0);
    expect(fc.calls().filter((c) => c.prompt.includes(marker))).toHaveLength(1);
    const servers = processTable().filter((p) => p.cmdline.includes(" server start ") && p.cmdline.includes(fc.home) && p.state !== "Z");
    expect(servers.map((p) => p.pid)).toEqual([json(early).server_pid]);
  }, 120_000);

  it("wait ends with the exit code `claude` would have: 75 for a usage limit; 2 for an unknown id", async () => {
    const { cli } = sandbox("usage_limit");
    const started = await cli(["claude", "--detach", "-q", "hit the limit"]);
    expect(started.code, started.stderr).toBe(0);
    const id = started.stdout.trim();
    const done = await cli(["wait", id, "--json", "--max-wait", "45"]);
    expect(done.code, done.stderr).toBe(75);
    expect(json(done)).toMatchObject({ success: false, error_type: "usage_limit" });
    const unknown = await cli(["wait", "tl-20990101-000000-abcdef"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no execution or task-list run tl-20990101-000000-abcdef/);
  }, 120_000);

  it("without --max-wait, wait returns within the caller's Bash timeout (BASH_DEFAULT_TIMEOUT_MS)", async () => {
    const { cli } = sandbox("success", { FAKE_CLAUDE_WORK_MS: "60000" });
    const id = (await cli(["claude", "--detach", "-q", "a long one"])).stdout.trim();
    const t0 = Date.now();
    const r = await cli(["wait", id, "--json"], { BASH_DEFAULT_TIMEOUT_MS: "8000" });
    const took = Date.now() - t0;
    expect(r.code, r.stderr).toBe(STILL_RUNNING);
    // Half the timeout, counted from the command's own start: inside the 8 s even on a slow start.
    expect(took).toBeGreaterThanOrEqual(3500);
    expect(took).toBeLessThan(8000);
  }, 120_000);
});

describe("a detached run whose server dies (kill -9)", () => {
  it("wait says so instead of waiting forever: the claude task is lost (exit 1), the task list interrupted and resumable (exit 130)", async () => {
    const { cli, fc, env } = sandbox("success", { FAKE_CLAUDE_WORK_MS: "120000" });
    const marker = `orphan ${uniqueSleep()}`;
    const sleep = uniqueSleep();
    const dir = fc.home.replace(/home$/, "");
    writeFileSync(join(dir, "plan.yaml"), `tasks:\n  - command: echo one\n  - command: sleep ${sleep}\n`);
    const claudeId = (await cli(["claude", "--detach", "-q", marker])).stdout.trim();
    const runId = (await cli(["tasks", "run", "--detach", "-q", join(dir, "plan.yaml")])).stdout.trim();
    const ours = () => processTable().filter((p) => (p.cmdline.includes(marker) || p.cmdline === `sleep ${sleep}`) && p.state !== "Z");
    await waitUntil(() => ours().length === 2, 30_000, "both runs to be running");
    process.kill(daemonPid(fc.home, Number(env.CC_EXECUTOR_PORT))!, "SIGKILL");

    const claude = await cli(["wait", claudeId.slice(0, 8), "--json", "--max-wait", "30"]);
    expect(claude.code, claude.stderr).toBe(1);
    expect(json(claude)).toMatchObject({ id: claudeId, kind: "claude", status: "lost", finished: true });
    expect(claude.stderr).toMatch(/stopped before it finished/);
    const list = await cli(["wait", runId, "--json", "--max-wait", "30"]);
    expect(list.code, list.stderr).toBe(130);
    expect(json(list)).toMatchObject({ run_id: runId, status: "interrupted", completed: 1, resume_command: `cc-executor tasks resume ${runId}` });

    // Whatever the dead server left running is gone once the next one has started (reaped at its start, if not before).
    expect((await cli(["server", "start", "--daemon"])).code).toBe(0);
    expect(ours()).toEqual([]);
  }, 180_000);
});

describe("tasks run --detach, then wait", () => {
  it("progress while running (task k of n, estimate from history), then the summary with the exit code of tasks run", async () => {
    const { cli, fc } = sandbox();
    const category = `wait-${Math.random().toString(36).slice(2, 8)}`;
    const dir = fc.home.replace(/home$/, "");
    const steps = [1, 2, 3].map((i) => `  - title: quick ${i}\n    command: sleep 0.5 # [category:${category}]\n`).join("");
    writeFileSync(join(dir, "plan.yaml"), `name: detached plan\ntasks:\n${steps}  - title: the long one\n    timeout: 60\n    command: sleep 12 # [category:${category}]\n  - title: last\n    command: echo last\n`);
    const started = await cli(["tasks", "run", "--detach", "--json", join(dir, "plan.yaml")]);
    expect(started.code, started.stderr).toBe(0);
    const out = json(started);
    expect(out).toMatchObject({ id: expect.stringMatching(/^tl-/), kind: "task-list", status: "running", wait_command: `cc-executor wait ${out.id} --json` });

    let running: any;
    for (let i = 0; i < 20; i++) {
      const r = await cli(["wait", out.id, "--json", "--max-wait", "0.5"]);
      expect(r.code, r.stderr).toBe(STILL_RUNNING);
      running = json(r);
      if (running.progress?.task === 4) break;
    }
    expect(running).toMatchObject({
      id: out.id,
      kind: "task-list",
      status: "running",
      progress: { task: 4, total: 5, completed: 3, title: "the long one", task_elapsed_ms: expect.any(Number) },
      timeout_s: 60,
      estimate: { basis: "partial", samples: 3, remaining_ms: expect.any(Number) },
    });

    const done = await cli(["wait", out.id, "--json", "--max-wait", "45"]);
    expect(done.code, done.stderr).toBe(0);
    expect(json(done)).toMatchObject({ run_id: out.id, status: "completed", completed: 5, total: 5 });
    expect(done.stderr).toMatch(/detached plan: completed · 5\/5/);
    const logs = await cli(["logs", out.id]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/\[5\/5\] last[\s\S]*\nlast\n/);
  }, 180_000);

  it("a failed list: wait exits 1 with the summary and the resume command; --detach with --queue is refused", async () => {
    const { cli, fc } = sandbox();
    const dir = fc.home.replace(/home$/, "");
    writeFileSync(join(dir, "fails.yaml"), "tasks:\n  - command: echo one\n  - command: exit 3\n  - command: echo never\n");
    const id = (await cli(["tasks", "run", "--detach", "-q", join(dir, "fails.yaml")])).stdout.trim();
    const done = await cli(["wait", id, "--json", "--max-wait", "45"]);
    expect(done.code, done.stderr).toBe(1);
    expect(json(done)).toMatchObject({ run_id: id, status: "failed", completed: 1, resume_command: `cc-executor tasks resume ${id}` });
    const refused = await cli(["tasks", "run", "--detach", "--queue", join(dir, "fails.yaml")]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--detach and --queue do not go together/);
  }, 120_000);
});
