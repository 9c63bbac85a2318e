/*
 * A foreground `tasks run` / `claude` killed from outside with SIGTERM or SIGHUP (a supervisor, a
 * closing terminal, `timeout`): the running task is stopped, nothing finished is lost, the message
 * names the run and the resume command. Real signals; checked in the checkpoint and /proc.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { finished, runCli, spawnCli } from "../helpers/cli.js";
import { fakeClaude } from "../helpers/fake-claude.js";
import { liveSleeps, processTable, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { spawnServerProcess, type ServerProcess } from "../helpers/server-process.js";

const checkpoint = (home: string, runId: string) => JSON.parse(readFileSync(join(home, "runs", runId, "checkpoint.json"), "utf8"));

/** Task 2 sleeps until a `resumed` file exists in the list's directory. */
function plan(sleep: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cce-sig-"));
  writeFileSync(join(dir, "plan.yaml"), `name: signals\ntasks:\n  - command: echo one >> ran.txt\n  - command: if [ -f resumed ]; then echo two >> ran.txt; else sleep ${sleep}; fi\n  - command: echo three >> ran.txt\n`);
  return dir;
}

function sandbox() {
  const fc = fakeClaude();
  return { fc, env: { ...fc.env, CC_EXECUTOR_HOME: fc.home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 30000)) } };
}

const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

describe("a foreground run killed from outside", () => {
  it("tasks run (in-process), SIGTERM: the running task stops, what completed is kept, the run and its resume command are named; resume finishes it", async () => {
    const { fc, env } = sandbox();
    const sleep = uniqueSleep();
    const dir = plan(sleep);
    const child = spawnCli(["tasks", "run", "plan.yaml", "--json"], { env, cwd: dir });
    const run = finished(child, 60_000);
    await waitUntil(() => liveSleeps(sleep).length > 0, 30_000, "task 2 to start");
    child.kill("SIGTERM");
    const r = await run;
    expect(r.code, r.stderr).toBe(130);
    const summary = JSON.parse(r.stdout);
    expect(r.stderr).toContain(`run ${summary.run_id} stopped by SIGTERM; resume with: cc-executor tasks resume ${summary.run_id}`);
    expect(liveSleeps(sleep)).toEqual([]);
    expect(processTable().filter((p) => p.pid === child.pid)).toEqual([]);
    const state = checkpoint(fc.home, summary.run_id);
    expect(state.status).toBe("canceled");
    expect(state.tasks["task-1"]).toMatchObject({ status: "completed" });
    expect(state.tasks["task-2"]).toMatchObject({ status: "canceled" });
    expect(state.tasks["task-3"]).toBeUndefined();

    writeFileSync(join(dir, "resumed"), "");
    const resumed = await runCli(["tasks", "resume", summary.run_id, "--json", "-q"], { env, cwd: dir, timeoutMs: 60_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: "completed", completed: 3 });
    expect(readFileSync(join(dir, "ran.txt"), "utf8")).toBe("one\ntwo\nthree\n"); // task 1 ran once
  }, 120_000);

  it("tasks run through a server, SIGHUP with --quiet: the run stops on the server too, and the resume line is still printed", async () => {
    const { fc, env } = sandbox();
    const server = await spawnServerProcess(env, { home: fc.home });
    servers.push(server);
    const sleep = uniqueSleep();
    const dir = plan(sleep);
    const child = spawnCli(["tasks", "run", "plan.yaml", "-q"], { env: { ...env, CC_EXECUTOR_PORT: String(server.port) }, cwd: dir });
    const run = finished(child, 60_000);
    await waitUntil(() => liveSleeps(sleep).length > 0, 30_000, "task 2 to start");
    child.kill("SIGHUP");
    const r = await run;
    expect(r.code, r.stderr).toBe(130);
    const runId = /run (tl-[\w-]+) stopped by SIGHUP; resume with: cc-executor tasks resume (tl-[\w-]+)/.exec(r.stderr);
    expect(runId, r.stderr).not.toBeNull();
    expect(runId![2]).toBe(runId![1]);
    expect(liveSleeps(sleep)).toEqual([]);
    const state = checkpoint(fc.home, runId![1]!);
    expect(state.status).toBe("canceled");
    expect(state.tasks["task-1"]).toMatchObject({ status: "completed" });
    expect(readFileSync(join(dir, "ran.txt"), "utf8")).toBe("one\n");
  }, 120_000);

  it("claude, SIGTERM: the task is canceled (no claude process left) and the message names it", async () => {
    const { env } = sandbox();
    const marker = `signal me ${uniqueSleep()}`;
    const child = spawnCli(["claude", "--json", `[fake:hang] ${marker}`], { env });
    const run = finished(child, 60_000);
    const fakes = () => processTable().filter((p) => p.cmdline.includes("fake-claude") && p.cmdline.includes(marker) && p.state !== "Z");
    await waitUntil(() => fakes().length > 0, 30_000, "claude to start");
    child.kill("SIGTERM");
    const r = await run;
    expect(r.code, r.stderr).toBe(130);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ success: false, error_type: "canceled" });
    expect(r.stderr).toContain(`claude task ${result.execution_id} stopped by SIGTERM`);
    expect(fakes()).toEqual([]);
  }, 120_000);
});
