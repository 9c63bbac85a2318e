import { describe, expect, it } from "vitest";
import { startRecord } from "../../src/store/record.js";
import { WriteBuffer } from "../../src/store/write-buffer.js";

const rec = (id: string, started_at: number) =>
  startRecord({ id, kind: "command", label: id, digest: "d", category: "cmd:x", started_at });

describe("WriteBuffer", () => {
  it("merges an end into its buffered start and replaces a re-saved run", () => {
    const b = new WriteBuffer(10);
    b.push({ op: "execution", rec: rec("a", 1000) });
    b.push({ op: "end", id: "a", patch: { status: "completed", ended_at: 1500 } });
    b.push({ op: "end", id: "elsewhere", patch: { status: "failed", ended_at: 1 } });
    const run = { run_id: "r", name: "n", source: "s", status: "running" as const, started_at: 1, tasks_total: 2, tasks_done: 0, tasks_failed: 0, checkpoint_path: "/c" };
    b.push({ op: "run", run });
    b.push({ op: "run", run: { ...run, tasks_done: 2, status: "completed" } });
    expect(b.size).toBe(3);
    expect(b.getExecution("a")).toMatchObject({ status: "completed", duration_ms: 500 });
    expect(b.recentDurations("cmd:x", 5)).toEqual([500]);
    expect(b.getRun("r")).toMatchObject({ tasks_done: 2, status: "completed" });
  });

  it("drops the oldest entries beyond its bound and counts them", () => {
    const b = new WriteBuffer(3);
    const dropped = [1, 2, 3, 4, 5].map((i) => b.push({ op: "execution", rec: rec(`e${i}`, i) }));
    expect(dropped).toEqual([0, 0, 0, 1, 1]);
    expect(b.dropped).toBe(2);
    expect(b.listExecutions({}, 10).map((r) => r.id)).toEqual(["e5", "e4", "e3"]);
    expect(b.resetDropped()).toBe(2);
    expect(b.dropped).toBe(0);
  });

  it("hands out entries in order and keeps one that changed while it was being delivered", () => {
    const b = new WriteBuffer(10);
    b.push({ op: "execution", rec: rec("a", 1) });
    b.push({ op: "execution", rec: rec("b", 2) });
    const first = b.first()!;
    expect(first.entry.write).toMatchObject({ op: "execution", rec: { id: "a" } });
    b.push({ op: "end", id: "a", patch: { status: "completed", ended_at: 5 } }); // arrives mid-delivery
    b.delivered(first);
    expect(b.size).toBe(2); // "a" goes again, now completed
    const again = b.first()!;
    expect(again.entry.write).toMatchObject({ rec: { id: "a", status: "completed" } });
    b.delivered(again);
    expect(b.first()!.entry.write).toMatchObject({ rec: { id: "b" } });
  });

  it("applies a clear to buffered records and queues it for Redis", () => {
    const b = new WriteBuffer(10);
    b.push({ op: "execution", rec: rec("old", 1) });
    b.push({ op: "execution", rec: rec("new", 100) });
    expect(b.clear(50)).toBe(1);
    expect(b.getExecution("old")).toBeUndefined();
    expect(b.size).toBe(2);
    b.delivered(b.first()!);
    expect(b.first()!.entry.write).toEqual({ op: "clear", before: 50 });
  });
});
