import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawPeer, startTestServer, type RawMessage, type TestServer } from "../helpers/server.js";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";

/**
 * Requests as the original Python cc_executor's clients send them (its client.py, its tests and
 * its models: string uuid ids, `timeout` as pydantic took it, `control` with `type` or `action`,
 * the `pong` heartbeat answer), and the answers they read (`status` in process.* notifications).
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.cleanup());

const open = () => RawPeer.open(server.url, { token: server.token });
const send = (peer: RawPeer, id: unknown, method: string, params?: unknown) => {
  peer.send({ jsonrpc: "2.0", method, params, id });
  return peer.waitFor((m: RawMessage) => m.id === id && ("result" in m || "error" in m));
};

describe("ids: echoed as they came", () => {
  it("a uuid string stays that string; numbers stay numbers; '7' stays a string", async () => {
    const peer = await open();
    for (const id of [randomUUID(), "7", 7, 0, -3, 2.5, "s1"]) {
      const answer = await send(peer, id, "control", { type: "INFO" });
      expect(answer.id).toStrictEqual(id);
      expect(typeof answer.id).toBe(typeof id);
    }
    // an error answer too
    const bad = await send(peer, "e1", "no_such_method");
    expect(bad).toMatchObject({ id: "e1", error: { code: -32601 } });
    await peer.close();
  });
});

describe("execute as the original's client sends it", () => {
  it("string uuid id, timeout as a numeric string; process.started carries status: started", async () => {
    const peer = await open();
    const id = randomUUID();
    const started = await send(peer, id, "execute", { command: "echo hello-original", timeout: "30" });
    expect(started).toMatchObject({ id, result: { status: "started" } });
    const note = await peer.waitFor((m) => m.method === "process.started");
    expect(note.params).toMatchObject({ status: "started", timeout: 30 });
    const done = await peer.waitFor((m) => m.method === "process.completed");
    expect(done.params).toMatchObject({ status: "completed", exit_code: 0 });
    expect(peer.notifications("process.output").map((m) => m.params.data).join("")).toBe("hello-original\n");
    await peer.close();
  });
});

describe("control in its other shapes", () => {
  it("lower case, `action` instead of `type`, an `id` inside params; notifications carry status", async () => {
    const s = uniqueSleep();
    const peer = await open();
    const started = await send(peer, 1, "execute", { command: `sleep ${s}` });
    const executionId = started.result.execution_id as string;
    await waitUntil(() => liveSleeps(s).length === 1, 10_000, "sleep running");

    expect(await send(peer, 2, "control", { type: "pause" })).toMatchObject({ id: 2, result: { status: "paused" } });
    expect((await peer.waitFor((m) => m.method === "process.paused")).params).toMatchObject({ status: "paused", execution_id: executionId });
    expect(await send(peer, 3, "control", { action: "RESUME" })).toMatchObject({ id: 3, result: { status: "resumed" } });
    expect((await peer.waitFor((m) => m.method === "process.resumed")).params).toMatchObject({ status: "resumed" });
    // INFO (also STATUS, or {action: "info"} as the original's test client sent it)
    expect(await send(peer, 4, "control", { action: "info" })).toMatchObject({ id: 4, result: { status: "running", execution_id: executionId, kind: "command" } });
    expect(await send(peer, 5, "control", { type: "STATUS" })).toMatchObject({ result: { status: "running" } });
    // an execution_id that is not this session's: refused, nothing happens to the running one
    expect(await send(peer, 6, "control", { type: "CANCEL", execution_id: "not-this-one" })).toMatchObject({ id: 6, error: { code: -32002 } });
    expect(liveSleeps(s)).toHaveLength(1);
    expect(await send(peer, 7, "control", { type: "CANCEL", id: 7, execution_id: executionId })).toMatchObject({ id: 7, result: { status: "canceled" } });
    expect((await peer.waitFor((m) => m.method === "process.canceled")).params).toMatchObject({ status: "canceled", execution_id: executionId });
    expect((await peer.waitFor((m) => m.method === "process.completed")).params).toMatchObject({ status: "canceled" });
    await waitUntil(() => liveSleeps(s).length === 0, 10_000, "sleep killed");
    expect(await send(peer, 8, "control", { type: "info" })).toMatchObject({ result: { status: "idle" } });
    await peer.close();
  });

  it("an unknown control is a clear -32602 naming it; no process: -32002 as before", async () => {
    const peer = await open();
    const bad = await send(peer, "x", "control", { type: "STOP" });
    expect(bad).toMatchObject({ id: "x", error: { code: -32602 } });
    expect(bad.error!.message).toMatch(/unknown control "STOP": expected PAUSE, RESUME or CANCEL/);
    expect(await send(peer, "y", "control", { type: "CANCEL" })).toMatchObject({ id: "y", error: { code: -32002 } });
    await peer.close();
  });
});

describe("the original's heartbeat answer", () => {
  it("pong is accepted and, as there, not answered (even with an id)", async () => {
    const peer = await open();
    peer.send({ jsonrpc: "2.0", method: "pong", id: "p1" });
    peer.send({ jsonrpc: "2.0", method: "pong" });
    const info = await send(peer, "after", "control", { type: "info" });
    expect(info.result).toMatchObject({ status: "idle" });
    expect(peer.messages.filter((m) => m.id === "p1")).toEqual([]);
    await peer.close();
  });
});
