import { readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { RawPeer, startTestServer, type TestServer } from "../helpers/server.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe("process slots (CC_EXECUTOR_MAX_PROCESSES) count every running process", () => {
  it("a task list's parallel group takes one slot per running task: with 2 slots, 2 of its 3 tasks run at once, a command is refused meanwhile", async () => {
    const srv: TestServer = await startTestServer({ maxProcesses: "2" });
    cleanups.push(() => srv.cleanup());
    const s = uniqueSleep(2);
    cleanups.push(() => liveSleeps(s).forEach((p) => process.kill(p.pid, "SIGKILL")));
    const peer = await RawPeer.open(srv.url, { token: srv.token });
    cleanups.push(() => peer.close());
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, liveSleeps(s).length)), 10);
    cleanups.push(() => clearInterval(sampler));

    const started = await peer.request(1, "run_task_list", {
      cwd: srv.home,
      concurrency: 3,
      tasks: ["a", "b", "c"].map((id) => ({ id, command: `sleep ${s}; touch done-${id}`, parallel_group: "fan" })),
    });
    expect(started.error).toBeUndefined();
    await waitUntil(() => liveSleeps(s).length === 2, 10_000, "two tasks running");

    // Both slots are the list's now: a command from another client is refused with -32004.
    const other = await RawPeer.open(srv.url, { token: srv.token });
    cleanups.push(() => other.close());
    const refused = await other.request(1, "execute", { command: "echo hi" });
    expect(refused.error?.code).toBe(-32004);
    const health = (await (await fetch(`http://127.0.0.1:${srv.port}/health`, { headers: { authorization: `Bearer ${srv.token}` } })).json()) as { active_processes: number };
    expect(health.active_processes).toBe(2);

    const done = await peer.waitFor((m) => m.method === "tasklist.completed", 30_000);
    expect(done.params.summary?.status ?? done.params.status).toBe("completed");
    expect(readdirSync(srv.home).filter((f) => f.startsWith("done-")).sort()).toEqual(["done-a", "done-b", "done-c"]); // the third waited, then ran
    expect(most).toBe(2);
    // and the slots are all free again
    const after = await other.request(2, "execute", { command: "echo hi" });
    expect(after.error).toBeUndefined();
  }, 60_000);

  it("a list canceled while one of its tasks waits for a slot ends without starting it", async () => {
    const srv: TestServer = await startTestServer({ maxProcesses: "1" });
    cleanups.push(() => srv.cleanup());
    const s = uniqueSleep();
    cleanups.push(() => liveSleeps(s).forEach((p) => process.kill(p.pid, "SIGKILL")));
    const peer = await RawPeer.open(srv.url, { token: srv.token });
    cleanups.push(() => peer.close());
    await peer.request(1, "run_task_list", {
      cwd: srv.home,
      concurrency: 2,
      tasks: ["a", "b"].map((id) => ({ id, command: `touch started-${id}; sleep ${s}`, parallel_group: "fan" })),
    });
    await waitUntil(() => liveSleeps(s).length === 1, 10_000, "one task running");
    await new Promise((r) => setTimeout(r, 300));
    expect(liveSleeps(s)).toHaveLength(1); // the other waits for the only slot
    await peer.request(2, "control", { type: "CANCEL" });
    await peer.waitFor((m) => m.method === "tasklist.completed", 20_000);
    expect(liveSleeps(s)).toEqual([]);
    expect(readdirSync(srv.home).filter((f) => f.startsWith("started-"))).toHaveLength(1);
  }, 60_000);
});
