import { mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readReplay, ReplayWriter, type ReplayItem } from "../../src/runs/index.js";

const dir = () => mkdtempSync(join(tmpdir(), "cce-replay-"));
const line = (seq: number, data: string) => JSON.stringify({ seq, method: "process.output", params: { data, event_seq: seq } });

async function readAll(d: string, since = 0): Promise<ReplayItem[]> {
  const items: ReplayItem[] = [];
  for await (const item of readReplay(d, since)) items.push(item);
  return items;
}

const folderBytes = (d: string) => readdirSync(d).reduce((sum, n) => sum + statSync(join(d, n)).size, 0);

describe("replay file", () => {
  it("under the cap it keeps everything and reads it back in order, from any seq", async () => {
    const d = dir();
    const w = new ReplayWriter({ dir: d, maxBytes: 1024 * 1024 });
    for (let seq = 1; seq <= 100; seq++) w.append(seq, line(seq, `line ${seq}\n`));
    w.close();
    const all = await readAll(d);
    expect(all.map((i) => (i.kind === "event" ? i.seq : -1))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const later = await readAll(d, 90);
    expect(later.map((i) => (i.kind === "event" ? i.seq : -1))).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
  });

  it("over the cap it keeps the head and the newest, never more than the cap on disk, and reads one gap in between", async () => {
    const d = dir();
    const cap = 1024 * 1024;
    const w = new ReplayWriter({ dir: d, maxBytes: cap });
    const chunk = "y".repeat(4000);
    let peak = 0;
    for (let seq = 1; seq <= 5000; seq++) {
      w.append(seq, line(seq, chunk));
      if (seq % 50 === 0) peak = Math.max(peak, folderBytes(d));
    }
    w.close();
    expect(peak).toBeLessThanOrEqual(cap + 4 * 4200);
    const items = await readAll(d);
    const gaps = items.filter((i) => i.kind === "gap");
    expect(gaps).toHaveLength(1);
    const gap = gaps[0] as Extract<ReplayItem, { kind: "gap" }>;
    const seqs = items.filter((i) => i.kind === "event").map((i) => (i as { seq: number }).seq);
    expect(seqs[0]).toBe(1);
    expect(seqs.at(-1)).toBe(5000);
    expect(seqs.indexOf(gap.fromSeq - 1)).toBe(items.indexOf(gap) - 1);
    expect(seqs).toEqual([...Array.from({ length: gap.fromSeq - 1 }, (_, i) => i + 1), ...Array.from({ length: 5000 - gap.toSeq }, (_, i) => gap.toSeq + 1 + i)]);
    expect(gap.missedEvents).toBe(gap.toSeq - gap.fromSeq + 1);
    expect(gap.missedBytes).toBeGreaterThan(gap.missedEvents * 4000);
    // The newest half of the cap at least is there.
    expect((5000 - gap.toSeq) * 4000).toBeGreaterThan(cap / 2);
  });

  it("a client whose last seq fell into the dropped part gets a gap from there", async () => {
    const d = dir();
    const w = new ReplayWriter({ dir: d, maxBytes: 256 * 1024 });
    for (let seq = 1; seq <= 1000; seq++) w.append(seq, line(seq, "z".repeat(2000)));
    w.close();
    const items = await readAll(d, 100);
    expect(items[0]).toMatchObject({ kind: "gap", fromSeq: 101 });
    expect(items[1]).toMatchObject({ kind: "event", seq: (items[0] as { toSeq: number }).toSeq + 1 });
  });

  it("a writer opened again on the same folder (a resumed task list) continues the numbering and the cap", async () => {
    const d = dir();
    const first = new ReplayWriter({ dir: d, maxBytes: 256 * 1024 });
    for (let seq = 1; seq <= 300; seq++) first.append(seq, line(seq, "a".repeat(2000)));
    first.close();
    const second = new ReplayWriter({ dir: d, maxBytes: 256 * 1024 });
    expect(second.lastSeq).toBe(300);
    for (let seq = 301; seq <= 600; seq++) second.append(seq, line(seq, "b".repeat(2000)));
    second.close();
    expect(folderBytes(d)).toBeLessThanOrEqual(256 * 1024 + 4 * 2100);
    const seqs = (await readAll(d)).filter((i) => i.kind === "event").map((i) => (i as { seq: number }).seq);
    expect(seqs.at(-1)).toBe(600);
    seqs.slice(1).forEach((s, i) => expect(s).toBeGreaterThan(seqs[i]!));
  });

  it("reads what is appended while it reads, and skips a line cut by a crash", async () => {
    const d = dir();
    const w = new ReplayWriter({ dir: d, maxBytes: 1024 * 1024 });
    for (let seq = 1; seq <= 10; seq++) w.append(seq, line(seq, "x"));
    const got: number[] = [];
    for await (const item of readReplay(d)) {
      if (item.kind !== "event") continue;
      got.push(item.seq);
      if (item.seq === 5) for (let seq = 11; seq <= 20; seq++) w.append(seq, line(seq, "x"));
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    w.close();
    writeFileSync(join(d, "events.jsonl"), '{"seq":21,"method":"process.out', { flag: "a" });
    expect((await readAll(d)).length).toBe(20);
  });

  it("a folder it cannot create turns the writer off without throwing", () => {
    const d = dir();
    writeFileSync(join(d, "file"), "");
    const w = new ReplayWriter({ dir: join(d, "file", "sub"), maxBytes: 1024 * 1024 });
    expect(w.broken).toBe(true);
    expect(() => w.append(1, line(1, "x"))).not.toThrow();
  });
});
