/**
 * Faults, checked with the process table, the files on disk and the store (not our bookkeeping):
 * a state directory that cannot be written (partly, read-only for real, full for real), a Redis
 * restart in the middle of work, a claude binary that disappears between two tasks, a kill -9 of
 * the server during a task list, and fd/memory/zombie leaks over 1,000 sequential executions.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExecutorClient } from "../../src/client/index.js";
import { CLI, finished, runCli } from "../helpers/cli.js";
import { FAKE_CLAUDE, fakeClaude } from "../helpers/fake-claude.js";
import { liveSleeps, processTable, recordedGroups, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { startRedis } from "../helpers/redis.js";
import { rssBytes, spawnServerProcess, type ServerProcess } from "../helpers/server-process.js";
import { RawPeer, startTestServer } from "../helpers/server.js";

const MiB = 1024 * 1024;

/** The full health document (it needs the token). */
async function health(srv: { port: number; token?: string }): Promise<Record<string, any>> {
  return (await (await fetch(`http://127.0.0.1:${srv.port}/health`, { headers: { authorization: `Bearer ${srv.token}` } })).json()) as Record<string, any>;
}

function alive(pid: number): boolean {
  const p = processTable().find((x) => x.pid === pid);
  return p !== undefined && p.state !== "Z" && p.state !== "X";
}

async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What every degraded server must still do: run a command, a resumable one and a task list, correctly. */
async function stillServes(url: string, token: string, cwd: string): Promise<void> {
  const client = await ExecutorClient.connect({ url, token });
  try {
    expect(await client.execute("echo still-serving", { timeout: 10 })).toMatchObject({ success: true, status: "completed", stdout: "still-serving\n" });
    expect(await client.execute(["printf", "resumable"], { timeout: 10, resumable: true })).toMatchObject({ success: true, stdout: "resumable" });
    const summary = await client.runTaskList({ tasks: [{ command: "echo a >> list.txt" }, { command: "echo b >> list.txt" }] }, { cwd });
    expect(summary).toMatchObject({ status: "completed", completed: 2 });
    expect(readFileSync(join(cwd, "list.txt"), "utf8")).toBe("a\nb\n");
  } finally {
    await client.close();
  }
}

// ---- a private mount namespace: a really read-only or really full state directory, even as root ----

/** unshare -Urm works here (user + mount namespaces): real EROFS / ENOSPC without touching the host. */
const canUnshare = spawnSync("unshare", ["-Urm", "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs \"$d\" && umount \"$d\" && rmdir \"$d\""], { stdio: "ignore" }).status === 0;

/** The real CLI server, started after `setup` ran in a new user+mount namespace (mounts there are private to it). */
async function spawnInNamespace(setup: string, home: string, token: string): Promise<ServerProcess> {
  const port = 20000 + Math.floor(Math.random() * 30000);
  const script = `${setup} && exec "${process.execPath}" "${CLI}" server start --port ${port} --home "${home}" --log-level warn`;
  const child = spawn("unshare", ["-Urm", "sh", "-c", script], { env: { ...process.env, NO_COLOR: "1", CC_EXECUTOR_TOKEN: token }, stdio: ["ignore", "pipe", "pipe"] });
  const exited = finished(child, 600_000);
  await until(async () => (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) || child.exitCode !== null, 15_000, "the namespaced server");
  if (child.exitCode !== null) throw new Error(`server did not start: ${JSON.stringify(await exited)}`);
  return { child, pid: child.pid!, port, home, url: `ws://127.0.0.1:${port}/ws/mcp`, token, exited, stop: () => (child.kill("SIGTERM"), exited) };
}

describe("a state directory that cannot be written", () => {
  it("runs/ replaced by a regular file: commands, resumable commands and task lists run; each write failure is logged", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-f-runs-"));
    writeFileSync(join(home, "runs"), "not a directory\n");
    const work = mkdtempSync(join(tmpdir(), "cce-f-work-"));
    const srv = await spawnServerProcess({}, { home });
    await stillServes(srv.url, srv.token, work);
    expect(alive(srv.pid)).toBe(true);
    const out = await srv.stop();
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/cannot write the checkpoint; this run cannot be resumed/);
    expect(out.stderr).toMatch(/cannot write the replay file/);
  });

  it("the SQLite file cannot be opened (its path is a directory): the server starts anyway, says why, /health is degraded", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-f-db-"));
    mkdirSync(join(home, "cc-executor.db"));
    const work = mkdtempSync(join(tmpdir(), "cce-f-work-"));
    const srv = await spawnServerProcess({}, { home });
    const h = await health(srv);
    expect(h).toMatchObject({ status: "degraded", store: { backend: "sqlite", status: "degraded", detail: expect.stringMatching(/cannot open .*history is kept in memory/) } });
    await stillServes(srv.url, srv.token, work);
    const out = await srv.stop();
    expect(out.stderr).toMatch(/cannot open the SQLite file in .*serving anyway/);
  });

  it("no token can be created (the state dir is a regular file) and none is configured: a clear refusal, exit 2", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "cce-f-file-")), "not-a-dir");
    writeFileSync(file, "");
    const r = await runCli(["server", "start", "--home", file, "--port", String(20000 + Math.floor(Math.random() * 30000))], { env: { CC_EXECUTOR_TOKEN: "" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read or create the token file .*not-a-dir\/token.*set CC_EXECUTOR_TOKEN/);
  });

  it.skipIf(!canUnshare)("read-only for real (a read-only bind mount): starts with the existing token, serves, logs EROFS", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-f-ro-"));
    const token = "read-only-state-dir-token-0123456789";
    writeFileSync(join(home, "token"), `${token}\n`, { mode: 0o600 });
    const work = mkdtempSync(join(tmpdir(), "cce-f-work-"));
    const srv = await spawnInNamespace(`mount --bind "${home}" "${home}" && mount -o remount,bind,ro "${home}"`, home, token);
    // inside its namespace the server really cannot write: prove it through a command it runs
    const client = await ExecutorClient.connect({ url: srv.url, token });
    const probe = await client.execute(`touch "${home}/probe"`, { timeout: 10 });
    expect(probe.status).toBe("failed");
    expect(probe.stderr).toMatch(/Read-only file system/);
    await client.close();
    expect((await health(srv)).store).toMatchObject({ status: "degraded" });
    await stillServes(srv.url, srv.token, work);
    const out = await srv.stop();
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/EROFS|read-only|unable to open database/i);
    expect(readdirSync(home)).toEqual(["token"]); // nothing was written behind the mount
  });

  it.skipIf(!canUnshare)("full for real (a 1 MiB tmpfs filled up): keeps serving, logs the failed writes, records history again once space is freed", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-f-full-"));
    const token = "full-state-dir-token-0123456789abcdef";
    const work = mkdtempSync(join(tmpdir(), "cce-f-work-"));
    const srv = await spawnInNamespace(`mount -t tmpfs -o size=1m tmpfs "${home}"`, home, token);
    const client = await ExecutorClient.connect({ url: srv.url, token });
    // fill the state directory from inside the server's namespace, through the server itself
    const fill = await client.execute(`dd if=/dev/zero of="${home}/filler" bs=64k 2>&1; df -k "${home}" | tail -1`, { timeout: 20 });
    expect(fill.stdout).toMatch(/No space left on device/);
    expect(fill.stdout).toMatch(/\s100%\s/);
    for (let i = 0; i < 20; i++) expect(await client.execute(["printf", `full-${i}`], { timeout: 10 })).toMatchObject({ success: true, stdout: `full-${i}` });
    await stillServes(srv.url, token, work);
    expect(alive(srv.pid)).toBe(true);
    expect((await health(srv)).service).toBe("cc-executor");
    // free the space: what runs next is recorded again
    expect((await client.execute(`rm -f "${home}/filler"`, { timeout: 10 })).success).toBe(true);
    const after = await client.execute("echo after-space-freed", { timeout: 10 });
    await client.close();
    const peer = await RawPeer.open(srv.url, { token });
    await until(async () => {
      const res = await peer.request(Math.floor(Math.random() * 1e9), "history.list", { limit: 50 });
      return (res.result?.executions ?? []).some((e: { id: string; status: string }) => e.id === after.executionId && e.status === "completed");
    }, 5000, "the execution after the disk was freed in history");
    await peer.close();
    const out = await srv.stop();
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/database or disk is full.*cannot write execution history/);
    expect(out.stderr).toMatch(/ENOSPC.*cannot write the checkpoint/);
  });
});

describe("Redis restarts in the middle of work (REDIS_URL set)", () => {
  it("executions keep running, /health goes degraded then healthy, and every execution ends up in Redis", async () => {
    const redis = await startRedis();
    const env = { REDIS_URL: redis.url };
    const srv = await spawnServerProcess(env);
    try {
      expect(await health(srv)).toMatchObject({ status: "healthy", store: { backend: "redis", status: "ok" } });
      const client = await ExecutorClient.connect({ url: srv.url, token: srv.token });
      const long = await ExecutorClient.connect({ url: srv.url, token: srv.token });
      const ids: string[] = [(await client.execute("echo before-restart", { timeout: 10 })).executionId];
      const spanning = long.execute("sleep 1.5; echo spans-the-outage", { timeout: 20 });
      await redis.stop({ persist: true });
      await until(async () => (await health(srv)).status === "degraded", 10_000, "degraded health");
      for (let i = 0; i < 3; i++) {
        const r = await client.execute(["printf", `while-down-${i}`], { timeout: 10 });
        expect(r).toMatchObject({ success: true, stdout: `while-down-${i}` });
        ids.push(r.executionId);
      }
      const s = await spanning;
      expect(s).toMatchObject({ success: true, stdout: "spans-the-outage\n" });
      ids.push(s.executionId);
      await redis.start();
      await until(async () => (await health(srv)).status === "healthy", 15_000, "healthy again");
      ids.push((await client.execute("echo after-restart", { timeout: 10 })).executionId);
      await client.close();
      await long.close();
      // read Redis through a separate process (the CLI opens its own connection)
      await until(async () => {
        const r = await runCli(["history", "list", "--json", "--limit", "50"], { env: { ...env, CC_EXECUTOR_HOME: srv.home } });
        const rows: Array<{ id: string; status: string }> = r.code === 0 ? JSON.parse(r.stdout) : [];
        return ids.every((id) => rows.some((row) => row.id === id && row.status === "completed"));
      }, 15_000, "every execution recorded as completed in Redis");
      expect(alive(srv.pid)).toBe(true);
    } finally {
      await srv.stop();
      await redis.dispose();
    }
  }, 60_000);
});

describe("the claude binary disappears between two tasks", () => {
  it("the next claude task fails at once with binary_not_found naming CLAUDE_BIN; nothing hangs or is left running", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-f-bin-"));
    const bin = join(dir, "claude");
    copyFileSync(FAKE_CLAUDE, bin);
    chmodSync(bin, 0o755);
    writeFileSync(join(dir, "package.json"), '{"type":"module"}\n'); // the fixture is an ES module
    const fc = fakeClaude("success", { CLAUDE_BIN: bin });
    const server = await startTestServer({ claudeRetryDelayMs: 10 });
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    try {
      const t0 = Date.now();
      const summary = await client.runTaskList({ on_failure: "continue", tasks: ["First question", { command: `rm -f "${bin}"` }, "Second question"] }, { cwd: dir, env: fc.env });
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(summary.tasks.map((t) => t.status)).toEqual(["completed", "completed", "failed"]);
      expect(summary.tasks[2]).toMatchObject({ error_type: "binary_not_found", message: expect.stringContaining(`CLAUDE_BIN=${bin}`) });
      expect(fc.calls()).toHaveLength(1); // the first task really ran claude
      // a cc_execute after it: the same clear answer, not a hang or a retry loop
      const direct = await client.claude("Third question", { env: fc.env, timeout: 30 });
      expect(direct).toMatchObject({ success: false, error_type: "binary_not_found" });
      expect(processTable().filter((p) => p.cmdline.includes(bin) && p.state !== "Z")).toEqual([]);
    } finally {
      await client.close();
      await server.cleanup();
    }
  });
});

describe("server kill -9 during a task list started through the server", () => {
  it("the restart reaps the running task; `tasks resume` through the new server completes and reruns no completed task", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-f-kill-"));
    const dir = mkdtempSync(join(tmpdir(), "cce-f-list-"));
    const s = uniqueSleep();
    const first = await spawnServerProcess({}, { home });
    const peer = await RawPeer.open(first.url, { token: first.token });
    const res = await peer.request(1, "run_task_list", {
      name: "crash-me",
      cwd: dir,
      tasks: [{ command: "echo one >> ran.txt" }, { command: `test -f go || sleep ${s}; echo two >> ran.txt` }, { command: "echo three >> ran.txt" }],
    });
    const runId: string = res.result.run_id;
    await waitUntil(() => liveSleeps(s).length === 1, 10_000, "task 2 running");
    const sleeper = liveSleeps(s)[0]!;
    await waitUntil(() => recordedGroups(join(home, "groups")).includes(sleeper.pgid), 5000, "the group record");
    first.child.kill("SIGKILL");
    await first.exited;
    await new Promise((r) => setTimeout(r, 200));
    expect(liveSleeps(s).map((p) => p.pid)).toEqual([sleeper.pid]); // the crash left it behind
    writeFileSync(join(dir, "go"), "");

    const second = await spawnServerProcess({}, { home });
    try {
      await waitUntil(() => liveSleeps(s).length === 0, 10_000, "the leftover reaped by the restart");
      const env = { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(second.port) };
      const listed = JSON.parse((await runCli(["tasks", "list", "--json"], { env })).stdout);
      expect(listed.find((r: { run_id: string }) => r.run_id === runId)).toMatchObject({ status: "interrupted", completed: 1 });
      const resumed = await runCli(["tasks", "resume", runId, "--json", "--no-local"], { env });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).not.toMatch(/in-process/);
      expect(JSON.parse(resumed.stdout)).toMatchObject({ run_id: runId, status: "completed", completed: 3 });
      expect(readFileSync(join(dir, "ran.txt"), "utf8")).toBe("one\ntwo\nthree\n");
    } finally {
      await second.stop();
    }
  }, 60_000);
});

describe("no fd, memory or zombie leak", () => {
  it("1,000 sequential executions through one client: open fds back to where they were, RSS growth bounded, no children left", async () => {
    // A capped V8 heap turns a leak into a crash (and keeps the RSS figure about us, not about lazy GC).
    const srv = await spawnServerProcess({ NODE_OPTIONS: "--max-old-space-size=64" });
    const fds = () => readdirSync(`/proc/${srv.pid}/fd`).length;
    try {
      const client = await ExecutorClient.connect({ url: srv.url, token: srv.token });
      for (let i = 0; i < 100; i++) await client.execute(["true"]); // warm-up: JIT, SQLite pages, pools
      const fd0 = fds();
      const rss0 = rssBytes(srv.pid);
      for (let i = 0; i < 1000; i++) {
        const r = await client.execute(["printf", `n${i}`], { timeout: 10 });
        if (r.stdout !== `n${i}` || r.status !== "completed") throw new Error(`execution ${i}: ${r.status} ${JSON.stringify(r.stdout)}`);
      }
      const fd1 = fds();
      const rss1 = rssBytes(srv.pid);
      await client.close();
      await until(() => fds() <= fd0, 5000, `fds back to ${fd0} (now ${fds()})`);
      console.log(`leak check: fds ${fd0} -> ${fd1} -> ${fds()}; RSS ${(rss0 / MiB).toFixed(1)} -> ${(rss1 / MiB).toFixed(1)} MiB`);
      expect(fd1 - fd0).toBeLessThanOrEqual(2);
      // A leak of even 32 KiB per execution would be 32 MiB here; heap growth before a full GC stays well under that.
      expect(rss1 - rss0).toBeLessThan(32 * MiB);
      expect(processTable().filter((p) => p.ppid === srv.pid)).toEqual([]); // no zombies, no stragglers
      expect(alive(srv.pid)).toBe(true);
    } finally {
      await srv.stop();
    }
  }, 60_000);
});
