import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { RawPeer, startTestServer, type RawMessage, type TestServer } from "../helpers/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ resumeGraceS: 2, replayBufferBytes: 64 * 1024 });
});
afterAll(async () => {
  await server.cleanup();
});

const open = () => RawPeer.open(server.url, { token: server.token });
const outputOf = (msgs: RawMessage[], id: string) =>
  msgs.filter((m) => m.method === "process.output" && m.params.execution_id === id).map((m) => m.params.data as string).join("");

describe("resumable executions", () => {
  it("survive a dropped connection; attach replays what was missed, then the rest live", async () => {
    const first = await open();
    // ~150 KB of numbered lines over ~1.5 s: more than the 64 KiB ring, so part of the replay comes from the spill file.
    const cmd = `for i in $(seq 1 30); do seq $(( (i-1)*1000+1 )) $(( i*1000 )); sleep 0.05; done`;
    const res = await first.request(1, "execute", { command: cmd, resumable: true });
    const id = res.result.execution_id as string;
    await first.waitFor((m) => m.method === "process.output");
    first.ws.terminate();
    const seen = first.messages.filter((m) => m.params?.execution_id === id);
    const lastSeq = Math.max(0, ...seen.map((m) => m.params.event_seq as number));
    await new Promise((r) => setTimeout(r, 1000)); // output keeps coming while nobody listens

    const second = await open();
    const attached = await second.request(1, "attach", { execution_id: id, since_seq: lastSeq });
    expect(attached.result).toMatchObject({ status: "attached", execution_id: id });
    expect(attached.result.replayed).toBeGreaterThan(0);
    await second.waitFor((m) => m.method === "process.completed" && m.params.execution_id === id);
    const text = outputOf(seen, id) + outputOf(second.messages, id);
    const numbers = text.trim().split("\n").map(Number);
    expect(numbers).toHaveLength(30_000);
    numbers.forEach((n, i) => expect(n).toBe(i + 1));
    const seqs = [...seen, ...second.messages.filter((m) => m.params?.execution_id === id)].map((m) => m.params.event_seq as number);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    await second.close();
  }, 30_000);

  it("a client that comes back after the end still gets the result", async () => {
    const first = await open();
    const res = await first.request(1, "execute", { command: "sleep 0.3; echo finished", resumable: true });
    const id = res.result.execution_id as string;
    first.ws.terminate();
    await new Promise((r) => setTimeout(r, 800));
    const second = await open();
    const attached = await second.request(1, "attach", { execution_id: id, since_seq: 0 });
    expect(attached.result.running).toBe(false);
    const done = await second.waitFor((m) => m.method === "process.completed");
    expect(done.params.status).toBe("completed");
    expect(outputOf(second.messages, id)).toBe("finished\n");
    await second.close();
  });

  it("a client that saw the end and then disconnected does not keep the execution attached: another can attach and replay it", async () => {
    const first = await open();
    const res = await first.request(1, "execute", { command: "echo seen-twice", resumable: true });
    const id = res.result.execution_id as string;
    await first.waitFor((m) => m.method === "process.completed");
    await first.close();
    const second = await open();
    const attached = await second.request(1, "attach", { execution_id: id, since_seq: 0 });
    expect(attached.result).toMatchObject({ status: "attached", running: false });
    await second.waitFor((m) => m.method === "process.completed");
    expect(outputOf(second.messages, id)).toBe("seen-twice\n");
    await second.close();
  });

  it("no client within the grace period: the group is killed", async () => {
    const first = await open();
    const s = uniqueSleep();
    const res = await first.request(1, "execute", { command: `sleep ${s}`, resumable: true });
    await waitUntil(() => liveSleeps(s).length === 1, 5000, "started");
    first.ws.terminate();
    await new Promise((r) => setTimeout(r, 1000));
    expect(liveSleeps(s)).toHaveLength(1); // still inside the grace period
    await waitUntil(() => liveSleeps(s).length === 0, 10_000, "killed after grace");
    const late = await open();
    const attach = await late.request(1, "attach", { execution_id: res.result.execution_id });
    expect(attach.error?.code).toBe(-32602);
    await late.close();
  });

  it("attach refuses unknown ids and executions that are attached elsewhere", async () => {
    const owner = await open();
    const s = uniqueSleep();
    const res = await owner.request(1, "execute", { command: `sleep ${s}`, resumable: true });
    const thief = await open();
    expect((await thief.request(1, "attach", { execution_id: res.result.execution_id })).error?.message).toMatch(/attached to another session/);
    expect((await thief.request(2, "attach", { execution_id: "nope" })).error?.code).toBe(-32602);
    await owner.request(2, "control", { type: "CANCEL" });
    await owner.waitFor((m) => m.method === "process.completed");
    expect(liveSleeps(s)).toEqual([]);
    await owner.close();
    await thief.close();
  });

  it("server shutdown kills detached resumable work too", async () => {
    const srv = await startTestServer({ resumeGraceS: 60 });
    const peer = await RawPeer.open(srv.url, { token: srv.token });
    const s = uniqueSleep();
    await peer.request(1, "execute", { command: `sleep ${s}`, resumable: true });
    await waitUntil(() => liveSleeps(s).length === 1, 5000, "started");
    peer.ws.terminate();
    await new Promise((r) => setTimeout(r, 200));
    await srv.cleanup();
    expect(liveSleeps(s)).toEqual([]);
  });
});
