import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorClient } from "../../src/client/index.js";
import { finished, runCli, spawnCli } from "../helpers/cli.js";
import { fakeClaude } from "../helpers/fake-claude.js";
import { liveSleeps, processTable, recordedGroups, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { RawPeer, startTestServer, type TestServer } from "../helpers/server.js";

const EXAMPLES = join(import.meta.dirname, "..", "..", "examples");

describe("run_task_list over the protocol", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ claudeRetryDelayMs: 10 });
  });
  afterAll(() => server.cleanup());

  it("streams tasklist/task notifications with each task's process and claude notifications inside", async () => {
    const fc = fakeClaude("success");
    const peer = await RawPeer.open(server.url, { token: server.token });
    const text = "### Task 1: list\nMethod: direct\n```\necho from-direct\n```\n\n### Task 2: ask\nSay hello\n";
    const res = await peer.request(1, "run_task_list", { text, source: "inline.md", env: fc.env, cwd: server.home });
    expect(res.result).toMatchObject({ status: "started", total: 2, name: "inline", resumable: true });
    const runId = res.result.run_id;
    const done = await peer.waitFor((m) => m.method === "tasklist.completed");
    expect(done.params).toMatchObject({ run_id: runId, status: "completed", summary: { completed: 2, total: 2 } });
    const methods = peer.messages.map((m) => m.method).filter(Boolean);
    expect(methods.filter((m) => m!.startsWith("task"))).toEqual(["tasklist.started", "task.started", "task.completed", "task.started", "task.completed", "tasklist.budget", "tasklist.completed"]);
    const output = peer.notifications("process.output").find((m) => m.params.task_id === "task-1");
    expect(output?.params).toMatchObject({ run_id: runId, data: "from-direct\n", type: "stdout" });
    expect(peer.notifications("claude.completed")[0]!.params).toMatchObject({ run_id: runId, task_id: "task-2", result: { success: true } });
    // every notification of the run carries the run id and a replay sequence number
    for (const m of peer.messages.filter((x) => x.method && x.method !== "connected")) expect(m.params).toMatchObject({ run_id: runId, event_seq: expect.any(Number) });
    await peer.close();
  });

  it("refuses an invalid list with -32602 naming the line, and unknown runs to resume", async () => {
    const peer = await RawPeer.open(server.url, { token: server.token });
    const bad = await peer.request(1, "run_task_list", { text: "tasks:\n  - prompt: a\n    timeout: soon\n", format: "yaml", source: "p.yaml" });
    expect(bad.error).toMatchObject({ code: -32602, message: expect.stringMatching(/p\.yaml:3: tasks\.0\.timeout/) });
    const none = await peer.request(2, "run_task_list", {});
    expect(none.error?.message).toMatch(/exactly one of file, text, tasks or resume_run_id/);
    const unknown = await peer.request(3, "run_task_list", { resume_run_id: "tl-20990101-000000-abcdef" });
    expect(unknown.error?.message).toMatch(/no task-list run tl-20990101-000000-abcdef/);
    const traversal = await peer.request(4, "run_task_list", { resume_run_id: "../../etc" });
    expect(traversal.error?.code).toBe(-32602);
    // the session is still usable
    const ok = await peer.request(5, "run_task_list", { tasks: [{ command: "true" }], cwd: server.home });
    expect(ok.result?.status).toBe("started");
    await peer.waitFor((m) => m.method === "tasklist.completed");
    await peer.close();
  });

  it("survives a dropped connection: the client reconnects, attaches with the run id and gets the rest", async () => {
    const client = await ExecutorClient.connect({ url: server.url, token: server.token, reconnect: { baseDelayMs: 50 } });
    const firstSession = client.sessionId;
    const seen: string[] = [];
    let dropped = false;
    const summary = await client.runTaskList({ tasks: [{ command: "echo one; sleep 1; echo one-done" }, { command: "echo two" }] }, {
      cwd: server.home,
      onEvent: (e) => {
        if (e.method === "task.completed") seen.push(String(e.params.task_id));
        if (e.method === "process.output" && !dropped) {
          dropped = true;
          (client as unknown as { ws: { terminate(): void } }).ws.terminate();
        }
      },
    });
    expect(dropped).toBe(true);
    expect(client.sessionId).not.toBe(firstSession);
    expect(summary).toMatchObject({ status: "completed", completed: 2 });
    expect(summary.tasks[0]).toMatchObject({ result: expect.stringContaining("one-done") });
    expect(seen).toEqual(["task-1", "task-2"]); // each once, in order: nothing lost, nothing twice
    await client.close();
  });

  it("control CANCEL stops the run: no process of it remains, and the run resumes later", async () => {
    const sleep = uniqueSleep();
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const pending = client.runTaskList({ tasks: [{ command: "echo a" }, { command: `sleep ${sleep}` }, { command: "echo c" }] }, { cwd: server.home });
    await waitUntil(() => liveSleeps(sleep).length > 0, 10_000, "the sleep to start");
    await client.cancel();
    const summary = await pending;
    expect(summary).toMatchObject({ status: "canceled", completed: 1 });
    expect(liveSleeps(sleep)).toEqual([]);
    // resume, then cancel again, and check that only the unfinished task started
    const events: string[] = [];
    const again = client.runTaskList({ resume_run_id: summary.run_id }, { onEvent: (e) => e.method === "task.started" && events.push(String(e.params.task_id)) });
    await waitUntil(() => liveSleeps(sleep).length > 0, 10_000, "the sleep to start again");
    await client.cancel();
    await again;
    expect(events).toEqual(["task-2"]);
    expect(liveSleeps(sleep)).toEqual([]);
    await client.close();
  });
});

describe("cc-executor tasks (CLI)", () => {
  const env = (fc: ReturnType<typeof fakeClaude>) => ({ ...fc.env, CC_EXECUTOR_HOME: fc.home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 30000)) });

  it("runs examples/basic against fake-claude: live progress, summary, --json, --report; list and show", async () => {
    const fc = fakeClaude("success");
    const cwd = mkdtempSync(join(tmpdir(), "cce-basic-"));
    const r = await runCli(["tasks", "run", join(EXAMPLES, "basic", "tasks.md"), "--json", "--report", "report.md"], { env: env(fc), cwd });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ status: "completed", total: 3, completed: 3 });
    expect(r.stderr).toMatch(/▶ \[1\/3\]/);
    expect(r.stderr).toMatch(/✓ \[3\/3\].*UUID verified/);
    expect(readFileSync(join(cwd, "report.md"), "utf8")).toContain("| 3 |");
    expect(fc.calls()).toHaveLength(3);

    const list = await runCli(["tasks", "list", "--json"], { env: env(fc) });
    expect(JSON.parse(list.stdout)[0]).toMatchObject({ run_id: summary.run_id, status: "completed", completed: 3, total: 3 });
    const show = await runCli(["tasks", "show", summary.run_id, "--json"], { env: env(fc) });
    expect(JSON.parse(show.stdout).tasks).toHaveLength(3);
  });

  it("runs examples/advanced (mixed direct and claude tasks, a parallel phase)", async () => {
    const fc = fakeClaude("json");
    const cwd = mkdtempSync(join(tmpdir(), "cce-adv-"));
    const r = await runCli(["tasks", "run", join(EXAMPLES, "advanced", "tasks.yaml"), "--json", "-q"], { env: env(fc), cwd });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.status).toBe("completed");
    expect(new Set(summary.tasks.map((t: { method: string }) => t.method))).toEqual(new Set(["claude", "direct"]));
  });

  it("exit 2 with the file and line for an invalid list; validate shows the plan", async () => {
    const fc = fakeClaude("success");
    const dir = mkdtempSync(join(tmpdir(), "cce-bad-"));
    writeFileSync(join(dir, "bad.md"), "### Task 1: a\nTimeout: soon\nDo a\n");
    const r = await runCli(["tasks", "run", join(dir, "bad.md")], { env: env(fc) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, "bad.md")}:2: Timeout must be`);
    const missing = await runCli(["tasks", "run", join(dir, "nope.yaml")], { env: env(fc) });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.yaml: no such file");
    const v = await runCli(["tasks", "validate", join(EXAMPLES, "advanced", "tasks.yaml")], { env: env(fc) });
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/parallel group/);
  });

  it("after kill -9 of the runner, resume reaps the orphaned task, reruns nothing completed, and completes", async () => {
    const fc = fakeClaude("success", { FAKE_CLAUDE_WORK_MS: "60000" });
    const dir = mkdtempSync(join(tmpdir(), "cce-kill-"));
    const plan = join(dir, "plan.yaml");
    const marker = `the long one ${uniqueSleep()}`;
    writeFileSync(plan, `name: crashy\ntasks:\n  - command: echo one >> ran.txt\n  - prompt: ${marker}\n  - command: echo three >> ran.txt\n`);
    const orphanAlive = () => processTable().find((p) => p.cmdline.includes("fake-claude") && p.cmdline.includes(marker) && p.state !== "Z");
    const child = spawnCli(["tasks", "run", plan], { env: env(fc), cwd: dir });
    const running = finished(child, 60_000);
    await waitUntil(() => orphanAlive() !== undefined, 20_000, "fake-claude to start");
    const orphan = orphanAlive()!;
    // kill the runner once it has recorded the task's process group (what a restart reaps)
    await waitUntil(() => recordedGroups(join(fc.home, "groups")).includes(orphan.pgid), 10_000, "the group record");
    child.kill("SIGKILL");
    await running;
    expect(orphanAlive()?.pid).toBe(orphan.pid); // the runner died; its task did not (yet)

    const list = JSON.parse((await runCli(["tasks", "list", "--json"], { env: env(fc) })).stdout);
    expect(list[0]).toMatchObject({ status: "interrupted", completed: 1 });
    const resumed = await runCli(["tasks", "resume", list[0].run_id, "--json"], { env: { ...env(fc), FAKE_CLAUDE_WORK_MS: "0" }, cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: "completed", completed: 3 });
    expect(orphanAlive()).toBeUndefined(); // reaped at start
    expect(readFileSync(join(dir, "ran.txt"), "utf8")).toBe("one\nthree\n"); // task 1 ran once
  });

  it("after kill -9 in the middle of a journal append (a torn last line), resume runs no completed task twice", async () => {
    const fc = fakeClaude("success");
    const dir = mkdtempSync(join(tmpdir(), "cce-torn-"));
    const plan = join(dir, "plan.yaml");
    const sleep = uniqueSleep();
    writeFileSync(plan, `name: torn\ntasks:\n  - command: echo one >> ran.txt\n  - command: echo two >> ran.txt\n  - command: test -e resumed || sleep ${sleep}\n  - command: echo four >> ran.txt\n`);
    const child = spawnCli(["tasks", "run", plan], { env: env(fc), cwd: dir });
    const running = finished(child, 60_000);
    await waitUntil(() => liveSleeps(sleep).length > 0, 20_000, "task 3 to start");
    child.kill("SIGKILL");
    await running;
    const [run] = JSON.parse((await runCli(["tasks", "list", "--json"], { env: env(fc) })).stdout);
    const journal = join(fc.home, "runs", run.run_id, "journal.jsonl");
    const lines = readFileSync(journal, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => `${l.id}:${l.status}`)).toEqual(["task-1:running", "task-1:completed", "task-2:running", "task-2:completed", "task-3:running"]);
    // the crash cut an append short: task 3's outcome, half written
    appendFileSync(journal, JSON.stringify({ ...lines[3], id: "task-3" }).slice(0, 40));
    expect(run).toMatchObject({ status: "interrupted", completed: 2 });
    writeFileSync(join(dir, "resumed"), "");
    const resumed = await runCli(["tasks", "resume", run.run_id, "--json"], { env: env(fc), cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: "completed", completed: 4 });
    expect(readFileSync(join(dir, "ran.txt"), "utf8")).toBe("one\ntwo\nfour\n"); // tasks 1 and 2 ran once
    expect(existsSync(journal)).toBe(false); // compacted into checkpoint.json at the end
    const checkpoint = JSON.parse(readFileSync(join(fc.home, "runs", run.run_id, "checkpoint.json"), "utf8"));
    expect(Object.values(checkpoint.tasks).map((t) => (t as { status: string }).status)).toEqual(["completed", "completed", "completed", "completed"]);
    expect(liveSleeps(sleep)).toEqual([]);
  });

  it("Ctrl-C stops the running task cleanly, says how to resume, exits 130", async () => {
    const fc = fakeClaude("success");
    const sleep = uniqueSleep();
    const dir = mkdtempSync(join(tmpdir(), "cce-int-"));
    writeFileSync(join(dir, "plan.yaml"), `tasks:\n  - command: sleep ${sleep}\n`);
    const child = spawnCli(["tasks", "run", join(dir, "plan.yaml")], { env: env(fc), cwd: dir });
    const running = finished(child, 30_000);
    await waitUntil(() => liveSleeps(sleep).length > 0, 10_000, "the sleep to start");
    child.kill("SIGINT");
    const r = await running;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/resume with: cc-executor tasks resume tl-/);
    expect(liveSleeps(sleep)).toEqual([]);
  });
});
