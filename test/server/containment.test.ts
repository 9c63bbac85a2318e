import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { cgroupSupport } from "../../src/process/cgroup.js";
import { runCli } from "../helpers/cli.js";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { RawPeer, startTestServer, type TestServer } from "../helpers/server.js";
import { spawnServerProcess } from "../helpers/server-process.js";

const support = cgroupSupport();
const why = support.available ? "" : ` [SKIPPED: no usable cgroup v2 here: ${support.reason}]`;
if (!support.available) console.warn(`server cgroup tests skipped: ${support.reason}`);

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function sweep(s: string): void {
  cleanups.push(() => {
    for (const p of liveSleeps(s)) process.kill(p.pid, "SIGKILL");
  });
}

async function server(overrides: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const srv = await startTestServer(overrides);
  cleanups.push(() => srv.cleanup());
  return srv;
}

describe("containment as the server and doctor report it", () => {
  it("/health says what contains executions (cgroup where available, else process groups with the reason)", async () => {
    const srv = await server();
    const fullHealth = async (t: TestServer) => (await (await fetch(`http://127.0.0.1:${t.port}/health`, { headers: { authorization: `Bearer ${t.token}` } })).json()) as { containment: { kind: string } };
    const health = await fullHealth(srv);
    expect(health.containment.kind).toBe(support.available ? "cgroup" : "process-group");
    // whether joining a cgroup is cheap, as the kernel's mount table says
    if (support.available) expect(health.containment).toMatchObject({ favordynmods: /\bfavordynmods\b/.test(readFileSync("/proc/self/mountinfo", "utf8")) });
    const pg = await server({ containment: "process-group" });
    const pgHealth = await fullHealth(pg);
    expect(pgHealth.containment).toEqual({ kind: "process-group", reason: expect.stringMatching(/CC_EXECUTOR_CONTAINMENT=process-group/) });
  });

  it("doctor --json has a containment check naming it", async () => {
    const run = await runCli(["doctor", "--json"], { env: { CLAUDE_BIN: "/nonexistent/claude" } });
    const check = JSON.parse(run.stdout).checks.find((c: { name: string }) => c.name === "containment");
    expect(check.detail).toMatch(support.available ? /own cgroup/ : /process groups/);
    if (support.available && !support.favordynmods) expect(check.hint).toMatch(/without favordynmods.*mount -o remount,favordynmods /);
    const pg = await runCli(["doctor", "--json"], { env: { CLAUDE_BIN: "/nonexistent/claude", CC_EXECUTOR_CONTAINMENT: "process-group" } });
    expect(JSON.parse(pg.stdout).checks.find((c: { name: string }) => c.name === "containment")).toMatchObject({ status: "ok", detail: expect.stringMatching(/setsid escapes/) });
  });
});

describe.skipIf(!support.available)(`the server kills what an execution started in a new session${why}`, () => {
  it("CANCEL over the protocol kills a setsid daemon the command started", async () => {
    const srv = await server({ killGraceMs: 500 });
    const s = uniqueSleep();
    sweep(s);
    const peer = await RawPeer.open(srv.url, { token: srv.token });
    cleanups.push(() => peer.close());
    await peer.request(1, "execute", { command: `setsid sleep ${s} & sleep 300` });
    await waitUntil(() => liveSleeps(s).length === 1, 5000, "the daemon");
    await peer.request(2, "control", { type: "CANCEL" });
    const done = await peer.waitFor((m) => m.method === "process.completed");
    expect(done.params.status).toBe("canceled");
    expect(liveSleeps(s)).toEqual([]);
  });

  it("after kill -9 of the server, the next start kills a setsid daemon of a running command", async () => {
    const s = uniqueSleep();
    sweep(s);
    const first = await spawnServerProcess();
    cleanups.push(() => void first.child.kill("SIGKILL"));
    const peer = await RawPeer.open(first.url, { token: first.token });
    await peer.request(1, "execute", { command: `setsid sleep ${s} & sleep ${s}` });
    await waitUntil(() => liveSleeps(s).length === 2, 5000, "both running");
    first.child.kill("SIGKILL");
    await first.exited;
    await peer.close();
    expect(liveSleeps(s)).toHaveLength(2); // the crash left both
    const second = await spawnServerProcess({}, { home: first.home });
    cleanups.push(() => second.stop());
    await waitUntil(() => liveSleeps(s).length === 0, 10_000, "both reaped by the restart");
  });
});
