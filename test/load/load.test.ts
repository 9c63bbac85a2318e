/**
 * The CI version of bench/sessions-bench.ts and bench/load-bench.ts: 200 sessions at once running short commands, and 20
 * sessions streaming random output at full speed, against the real server process. Every result
 * and every stream (sha256 against the command's own, chunk seq) is checked, and the process table
 * must hold nothing of it afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manyStreams } from "../../bench/load-bench.js";
import { manySessions } from "../../bench/sessions-bench.js";
import { summarize } from "../../bench/lib.js";
import { processTable, waitUntil } from "../helpers/procs.js";
import { spawnServerProcess, type ServerProcess } from "../helpers/server-process.js";

let srv: ServerProcess;
beforeAll(async () => {
  srv = await spawnServerProcess({ MAX_SESSIONS: "250", CC_EXECUTOR_MAX_PROCESSES: "250" });
}, 60_000);
afterAll(async () => {
  expect((await srv.stop()).code).toBe(0);
}, 60_000);

const children = () => processTable().filter((p) => p.ppid === srv.pid);

describe("load", () => {
  it("200 concurrent sessions x 3 short commands: every result right, p50/p99 recorded, nothing left running", async () => {
    const r = await manySessions(srv.url, srv.token, 200, 3);
    expect(r.wrong).toEqual([]);
    expect(r.latencies).toHaveLength(600);
    const s = summarize(r.latencies);
    console.log(`load: 600 commands over 200 sessions in ${(r.wallMs / 1000).toFixed(1)} s; latency p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms`);
    await waitUntil(() => children().length === 0, 5000, "no child of the server left");
    const health = (await (await fetch(`http://127.0.0.1:${srv.port}/health`, { headers: { authorization: `Bearer ${srv.token}` } })).json()) as { active_processes: number };
    expect(health.active_processes).toBe(0);
  }, 60_000);

  it("20 concurrent sessions streaming 2 MB of random base64 each: checksums match, no chunk lost or reordered", async () => {
    const r = await manyStreams(srv.url, srv.token, 20, 2_000_000, srv.pid);
    expect(r.wrong).toEqual([]);
    expect(r.bytes).toBeGreaterThan(20 * 2_000_000 * 1.3); // base64 of 2 MB is 2.7 MB
    console.log(`load: 20 streams, ${(r.bytes / 1048576).toFixed(0)} MB in ${(r.wallMs / 1000).toFixed(1)} s; server RSS peak ${(r.peakRss! / 1048576).toFixed(0)} MiB`);
    await waitUntil(() => children().length === 0, 5000, "no child of the server left");
  }, 60_000);
});
