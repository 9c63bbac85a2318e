import { describe, expect, it } from "vitest";
import { ReadBatch } from "../../src/process/read-batch.js";

describe("ReadBatch", () => {
  it("delivers the reads of one event-loop turn after it, consecutive reads of a stream merged, in order, up to maxBytes", async () => {
    const out: string[] = [];
    const batch = new ReadBatch((stream, bytes) => out.push(`${stream}:${bytes.toString()}`), 6);
    batch.add("stdout", Buffer.from("ab"));
    batch.add("stdout", Buffer.from("cd"));
    batch.add("stderr", Buffer.from("E"));
    batch.add("stdout", Buffer.from("ef"));
    batch.add("stdout", Buffer.from("ghij")); // 6 bytes with "ef": still one
    batch.add("stdout", Buffer.from("k")); // 7: a new one
    expect(out).toEqual([]); // nothing before the turn ends
    await new Promise((r) => setImmediate(r));
    expect(out).toEqual(["stdout:abcd", "stderr:E", "stdout:efghij", "stdout:k"]);
  });

  it("flush delivers at once (a stream closing), and the scheduled turn then has nothing left", async () => {
    const out: string[] = [];
    const batch = new ReadBatch((stream, bytes) => out.push(`${stream}:${bytes.toString()}`), 64);
    batch.add("stderr", Buffer.from("x"));
    batch.flush();
    expect(out).toEqual(["stderr:x"]);
    await new Promise((r) => setImmediate(r));
    expect(out).toEqual(["stderr:x"]);
  });
});
