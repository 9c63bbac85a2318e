import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { processStartTime } from "../../src/process/index.js";
import { digestOf, SqliteStore } from "../../src/store/index.js";
import { runCli } from "../helpers/cli.js";
import { RawPeer } from "../helpers/server.js";
import { spawnServerProcess, type ServerProcess } from "../helpers/server-process.js";

const DAY = 86_400_000;

/** Sets the modification time of a folder and everything in it. */
function age(dir: string, ms: number): void {
  const t = (Date.now() - ms) / 1000;
  for (const name of readdirSync(dir)) utimesSync(join(dir, name), t, t);
  utimesSync(dir, t, t);
}

function runFolder(home: string, id: string, bytes: number, ageMs: number, extra: Record<string, string> = {}): string {
  const dir = join(home, "runs", id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "events.jsonl"), "x".repeat(bytes));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  age(dir, ageMs);
  return dir;
}

async function history(home: string, startedDaysAgo: number[]): Promise<void> {
  const store = new SqliteStore({ file: join(home, "cc-executor.db") });
  for (const [i, days] of startedDaysAgo.entries()) {
    await store.recordExecutionStart({ id: `h${i}`, kind: "command", label: `echo ${i}`, digest: digestOf(`echo ${i}`), category: "cmd:echo", started_at: Date.now() - days * DAY });
  }
  await store.close();
}

const cleanupLater: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanupLater.splice(0)) await f();
});

describe("history prune and cleanup, through the built CLI", () => {
  it("remove old run folders, history rows, a crashed writer's temp file and trim server.log; keep what is in use; --dry-run removes nothing", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-clean-"));
    const env = { CC_EXECUTOR_HOME: home };
    runFolder(home, "old-a", 5000, 40 * DAY);
    runFolder(home, "old-b", 5000, 35 * DAY);
    runFolder(home, "recent", 5000, 2 * DAY);
    // A folder claimed by a live process (here a sleep), as a running execution's is.
    const sleeper: ChildProcess = spawn("sleep", ["60"]);
    cleanupLater.push(() => sleeper.kill("SIGKILL"));
    runFolder(home, "claimed", 5000, 40 * DAY, { "in-use.json": JSON.stringify({ pid: sleeper.pid, start_time: processStartTime(sleeper.pid!), host: hostname() }) });
    // An atomic write whose process died before the rename.
    const dead = spawn("true");
    await new Promise((r) => dead.once("exit", r));
    const tmp = join(runFolder(home, "recent-2", 10, DAY), `checkpoint.json.${dead.pid}.tmp`);
    writeFileSync(tmp, "{");
    writeFileSync(join(home, "server.log"), Array.from({ length: 12 * 1024 }, (_, i) => `${String(i).padStart(8, "0")} ${"l".repeat(1014)}\n`).join(""));
    await history(home, [300, 200, 10, 5, 1]);

    const dry = await runCli(["cleanup", "--dry-run", "--json"], { env });
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.dry_run).toBe(true);
    expect(plan.runs.removed.map((f: { id: string }) => f.id)).toEqual(["old-a", "old-b"]);
    expect(plan.runs.in_use_kept).toEqual([{ id: "claimed", bytes: expect.any(Number), in_use: `in use by pid ${sleeper.pid}` }]);
    expect(plan.history).toMatchObject({ executions: 2, task_list_runs: 0 });
    expect(plan.server_log).toMatchObject({ trimmed: true, bytes: 12 * 1024 * 1024 });
    expect(plan.leftover_files.files).toEqual([{ path: tmp, bytes: 1, pid: dead.pid }]);
    expect(readdirSync(join(home, "runs")).sort()).toEqual(["claimed", "old-a", "old-b", "recent", "recent-2"]);
    expect(existsSync(tmp)).toBe(true);
    expect(statSync(join(home, "server.log")).size).toBe(12 * 1024 * 1024);

    const human = await runCli(["cleanup", "--dry-run"], { env });
    expect(human.stderr).toMatch(/history: would delete 2 execution\(s\)/);
    expect(human.stderr).toMatch(/runs: +would delete 2 of 5 run folder\(s\), 9\.8 KiB; .* kept; 1 in use kept/);
    expect(human.stderr).toMatch(/log: +would trim .*server\.log from 12\.0 MiB to 10\d\d KiB \(its last lines\)/);

    const done = JSON.parse((await runCli(["cleanup", "--json"], { env })).stdout);
    expect(done.dry_run).toBe(false);
    expect(readdirSync(join(home, "runs")).sort()).toEqual(["claimed", "recent", "recent-2"]);
    expect(existsSync(tmp)).toBe(false);
    const log = readFileSync(join(home, "server.log"), "utf8");
    expect(log.length).toBeLessThan(1.1 * 1024 * 1024);
    expect(log.split("\n")[0]).toMatch(/^\[cc-executor cleanup .*: \d+ bytes of older log lines removed\]$/);
    expect(log.split("\n")[1]).toMatch(/^\d{8} l+$/); // whole lines only
    expect(log.trimEnd().split("\n").at(-1)).toMatch(/^00012287 /);

    // history prune: by count, then everything older than 0 s; the claimed folder stays throughout.
    const byCount = JSON.parse((await runCli(["history", "prune", "--max-rows", "1", "--older-than", "none", "--max-size", "none", "--json"], { env })).stdout);
    expect(byCount.history).toEqual({ executions: 2, task_list_runs: 0, started_before: null, keep: 1 });
    const list = JSON.parse((await runCli(["history", "list", "--json"], { env })).stdout);
    expect(list.map((r: { id: string }) => r.id)).toEqual(["h4"]);
    age(join(home, "runs", "recent"), 10 * DAY);
    age(join(home, "runs", "recent-2"), 10 * DAY);
    const all = JSON.parse((await runCli(["history", "prune", "--older-than", "0s", "--json"], { env })).stdout);
    expect(all.history.executions).toBe(1);
    expect(all.runs.removed.map((f: { id: string }) => f.id).sort()).toEqual(["recent", "recent-2"]);
    expect(readdirSync(join(home, "runs"))).toEqual(["claimed"]);
  }, 60_000);

  it("stale process-group records: removed after the reaper verified them; a crash's leftover group is killed; someone else's process never", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-clean-"));
    const groups = join(home, "groups");
    mkdirSync(groups, { recursive: true });
    const dead = async () => {
      const p = spawn("true");
      await new Promise((r) => p.once("exit", r));
      return p.pid!;
    };
    const deadOwner = await dead();
    const sleep = (s: string) => {
      const p = spawn("sleep", [s], { detached: true, stdio: "ignore" }); // its own group, as our executions
      cleanupLater.push(() => p.kill("SIGKILL"));
      return p.pid!;
    };
    const record = (pgid: number, leaderStartTime: number | undefined, ownerPid: number, ownerStartTime: number | undefined) =>
      writeFileSync(join(groups, `${pgid}.json`), JSON.stringify({ pgid, leaderStartTime, command: "sleep", ownerPid, ownerStartTime, startedAt: Date.now() }));
    const gone = await dead();
    record(gone, 1, deadOwner, 1); // its group is gone: a stale record
    const leftover = sleep("61.5"); // what a crashed server left running: verified by its start time
    record(leftover, processStartTime(leftover), deadOwner, 1);
    const stranger = sleep("62.5"); // a live process whose pid the record names with another start time
    record(stranger, processStartTime(stranger)! - 100, deadOwner, 1);
    const mine = sleep("63.5"); // recorded by a live owner (this test process): not ours to touch
    record(mine, processStartTime(mine), process.pid, processStartTime(process.pid));
    const alive = (pid: number) => processStartTime(pid) !== undefined;
    const env = { CC_EXECUTOR_HOME: home, CC_EXECUTOR_KILL_GRACE_MS: "200" };

    const dry = JSON.parse((await runCli(["cleanup", "--dry-run", "--json"], { env })).stdout);
    expect(dry.process_groups).toMatchObject({ killed: [leftover], stale_records: [gone], of_live_processes: [mine] });
    expect(dry.process_groups.left_alone).toEqual([{ pgid: stranger, why: expect.stringMatching(/another process/) }]);
    expect(readdirSync(groups).length).toBe(4);
    expect([leftover, stranger, mine].every(alive)).toBe(true);

    const human = await runCli(["cleanup"], { env });
    expect(human.code).toBe(0);
    expect(human.stderr).toMatch(new RegExp(`groups: +removed 1 stale record\\(s\\); killed 1 group\\(s\\) a crashed process left running \\(pgid ${leftover}\\); 1 belong to a running process`));
    expect(human.stderr).toMatch(new RegExp(`left pgid ${stranger} alone: .*another process`));
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(leftover)).toBe(false);
    expect(alive(stranger)).toBe(true);
    expect(alive(mine)).toBe(true);
    expect(readdirSync(groups)).toEqual([`${mine}.json`]);
  }, 60_000);

  it("bad values are usage errors (exit 2) and delete nothing", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-clean-"));
    runFolder(home, "old", 10, 40 * DAY);
    for (const args of [["cleanup", "--older-than", "soon"], ["history", "prune", "--max-size", "big"], ["history", "prune", "--max-rows", "-1"]]) {
      const r = await runCli(args, { env: { CC_EXECUTOR_HOME: home } });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/expected (an age|a size|a whole number)/);
    }
    const r = await runCli(["cleanup"], { env: { CC_EXECUTOR_HOME: home, CC_EXECUTOR_RUNS_MAX_SIZE: "lots" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CC_EXECUTOR_RUNS_MAX_SIZE="lots": expected bytes/);
    expect(existsSync(join(home, "runs", "old"))).toBe(true);
  });
});

describe("the server keeps the state directory within its limits", () => {
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it("prunes at start, reports the use in /health and doctor, and never prunes a running execution's folder", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-hk-"));
    runFolder(home, "ancient", 4000, 40 * DAY);
    runFolder(home, "tl-20200101-000000-aaaaaa", 4000, 40 * DAY, { "checkpoint.json": JSON.stringify({ status: "completed", runner: { pid: 1, host: hostname() } }) });
    runFolder(home, "young", 4000, DAY);
    await history(home, [100, 50, 1]);
    server = await spawnServerProcess({ CC_EXECUTOR_RUNS_MAX_AGE: "30d", CC_EXECUTOR_HISTORY_MAX_AGE: "60d" }, { home });
    const health = async () => (await fetch(`http://127.0.0.1:${server!.port}/health`, { headers: { authorization: `Bearer ${server!.token}` } })).json() as Promise<any>;
    const deadline = Date.now() + 15_000;
    while (readdirSync(join(home, "runs")).length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(readdirSync(join(home, "runs"))).toEqual(["young"]);
    let h = await health();
    expect(h.storage.history).toMatchObject({ executions: 2, task_list_runs: 0, max_rows: 100_000, max_age_s: 60 * 86_400 });
    expect(h.storage.history.oldest_started_at).toBeLessThan(Date.now() - 49 * DAY);
    expect(h.storage.runs).toMatchObject({ dir: join(home, "runs"), folders: 1, bytes: 4000, max_bytes: 2 * 1024 ** 3, max_age_s: 30 * 86_400 });
    expect(typeof h.storage.last_pruned_at).toBe("string");

    const doctor = JSON.parse((await runCli(["doctor", "--json"], { env: { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(server.port), CC_EXECUTOR_RUNS_MAX_AGE: "30d", CC_EXECUTOR_HISTORY_MAX_AGE: "60d" } })).stdout);
    const names = doctor.checks.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(["runs", "history"]));
    expect(doctor.checks.find((c: { name: string }) => c.name === "runs").detail).toMatch(/in \d+ run folder\(s\).*cap 2\.0 GiB, 30d/);
    expect(doctor.checks.find((c: { name: string }) => c.name === "history").detail).toMatch(/^\d+ execution\(s\), 0 task-list run\(s\) since \d{4}-\d\d-\d\d.*cap 100000 rows, 60d/);

    // A resumable execution that ended while its client was away: attachable for the grace period,
    // so its folder stays claimed by the server although its record says it ended.
    const peer = await RawPeer.open(server.url, { token: server.token });
    const res = await peer.request(1, "execute", { command: "echo kept-for-replay", resumable: true });
    const id = res.result.execution_id as string;
    await peer.waitFor((m) => m.method === "process.completed");
    peer.ws.terminate();
    const dir = join(home, "runs", id);
    age(dir, 40 * DAY); // looks old: only the claim protects it
    const out = JSON.parse((await runCli(["cleanup", "--older-than", "0s", "--json"], { env: { CC_EXECUTOR_HOME: home } })).stdout);
    expect(out.runs.in_use_kept).toEqual([{ id, bytes: expect.any(Number), in_use: `in use by pid ${server.pid}` }]);
    expect(out.runs.removed.map((f: { id: string }) => f.id)).toEqual(["young"]);
    const back = await RawPeer.open(server.url, { token: server.token });
    const attached = await back.request(1, "attach", { execution_id: id, since_seq: 0 });
    expect(attached.error).toBeUndefined();
    await back.waitFor((m) => m.method === "process.completed");
    expect(back.notifications("process.output").map((m) => m.params.data).join("")).toBe("kept-for-replay\n");
    await back.close();
  }, 60_000);
});
