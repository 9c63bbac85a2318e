import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorClient } from "../../src/client/index.js";
import { fakeClaude } from "../helpers/fake-claude.js";
import { liveSleeps, processTable, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { RawPeer, startTestServer, type TestServer } from "../helpers/server.js";

const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const fakeClaudesWith = (marker: string) => processTable().filter((p) => p.cmdline.includes("fake-claude") && p.cmdline.includes(marker) && p.state !== "Z");

describe("detached (server-owned) runs", () => {
  let server: TestServer;
  beforeAll(async () => {
    // A grace period much shorter than the runs: a detached run must not depend on it.
    server = await startTestServer({ resumeGraceS: 1, claudeRetryDelayMs: 10 });
  });
  afterAll(() => server.cleanup());
  const open = () => RawPeer.open(server.url, { token: server.token });

  it("cc_execute with detach answers at once and the task finishes after its connection is gone", async () => {
    const fc = fakeClaude("success", { FAKE_CLAUDE_WORK_MS: "2500" });
    const marker = `detached claude ${uniqueSleep()}`;
    const peer = await open();
    const res = await peer.request(1, "cc_execute", { prompt: marker, env: fc.env, cwd: server.home, detach: true });
    expect(res.result).toMatchObject({ status: "started", detached: true, resumable: true, run_dir: join(server.home, "runs", res.result.execution_id) });
    const id = res.result.execution_id as string;
    // the session is not busy with it: another detached start on the same connection is accepted
    const second = await peer.request(2, "cc_execute", { prompt: `${marker} two`, env: fc.env, cwd: server.home, detach: true });
    expect(second.result?.status).toBe("started");
    peer.ws.terminate();
    await waitUntil(() => fakeClaudesWith(marker).length === 2, 10_000, "both tasks to run");
    // well past the 1 s grace period of a dropped resumable execution: still running, not canceled
    await new Promise((r) => setTimeout(r, 1500));
    expect(fakeClaudesWith(marker)).toHaveLength(2);
    const resultPath = join(server.home, "runs", id, "result.json");
    await waitUntil(() => existsSync(resultPath), 20_000, "result.json");
    expect(readJson(resultPath)).toMatchObject({ success: true, execution_id: id, uuid_verified: true, attempts: 1 });
    await waitUntil(() => fakeClaudesWith(marker).length === 0, 10_000, "no task left");
    expect(fc.calls().filter((c) => c.prompt.includes(marker))).toHaveLength(2); // each ran once
  }, 40_000);

  it("run_task_list with detach runs every task after the connection is gone; checkpoint and report are in the run folder", async () => {
    const peer = await open();
    const res = await peer.request(1, "run_task_list", { tasks: [{ command: "sleep 1.5; echo one" }, { command: "echo two" }], name: "detached", cwd: server.home, detach: true });
    expect(res.result).toMatchObject({ status: "started", detached: true, total: 2 });
    const runId = res.result.run_id as string;
    expect(res.result.run_dir).toBe(join(server.home, "runs", runId));
    await peer.close();
    const checkpoint = join(server.home, "runs", runId, "checkpoint.json");
    await waitUntil(() => readJson(checkpoint).status !== "running", 20_000, "the run to end");
    expect(readJson(checkpoint)).toMatchObject({ status: "completed" });
    await waitUntil(() => existsSync(join(server.home, "runs", runId, "report.json")), 5_000, "report.json");
    expect(readJson(join(server.home, "runs", runId, "report.json"))).toMatchObject({ run_id: runId, status: "completed", completed: 2, total: 2 });
  }, 30_000);

  it("a watcher that attaches and leaves does not stop it; control from an attached session does", async () => {
    const sleep = uniqueSleep();
    const peer = await open();
    const res = await peer.request(1, "run_task_list", { tasks: [{ command: `sleep ${sleep}` }, { command: "echo after" }], cwd: server.home, detach: true });
    const runId = res.result.run_id as string;
    await waitUntil(() => liveSleeps(sleep).length > 0, 10_000, "the sleep to start");
    const watcher = await open();
    const attached = await watcher.request(1, "attach", { execution_id: runId, since_seq: 0 });
    expect(attached.result).toMatchObject({ status: "attached", running: true });
    watcher.ws.terminate();
    await new Promise((r) => setTimeout(r, 1800)); // past the grace period
    expect(liveSleeps(sleep)).toHaveLength(1);
    const canceler = await open();
    await canceler.request(1, "attach", { execution_id: runId });
    const cancel = await canceler.request(2, "control", { type: "CANCEL" });
    expect(cancel.result).toMatchObject({ status: "canceled", execution_id: runId });
    await canceler.waitFor((m) => m.method === "tasklist.completed");
    expect(liveSleeps(sleep)).toEqual([]);
    expect(readJson(join(server.home, "runs", runId, "checkpoint.json"))).toMatchObject({ status: "canceled" });
    await canceler.close();
    await peer.close();
  }, 30_000);

  it("the TypeScript client starts detached runs; a server shutdown stops them and leaves the list resumable", async () => {
    const own = await startTestServer({ resumeGraceS: 1 });
    const sleep = uniqueSleep();
    const client = await ExecutorClient.connect({ url: own.url, token: own.token });
    const run = await client.detachTaskList({ tasks: [{ command: "echo one" }, { command: `sleep ${sleep}` }] }, { cwd: own.home });
    expect(run).toMatchObject({ status: "started", detached: true, total: 2 });
    await client.close();
    await waitUntil(() => liveSleeps(sleep).length > 0, 10_000, "the sleep to start");
    const home = own.home;
    const checkpoint = join(home, "runs", run.run_id!, "checkpoint.json");
    await own.close();
    expect(liveSleeps(sleep)).toEqual([]);
    const state = readJson(checkpoint);
    expect(state.status).toBe("canceled");
    expect(state.tasks["task-1"]).toMatchObject({ status: "completed" });
    await own.cleanup();
  }, 30_000);
});
