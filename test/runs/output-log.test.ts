import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileTail, OutputLog, readCommandOutput } from "../../src/runs/index.js";

describe("OutputLog: bounded output in the run folder", () => {
  it("keeps the last one to two segments and counts what it dropped", () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-olog-"));
    const log = new OutputLog(dir, 100);
    for (let i = 0; i < 10; i++) log.write(`${String(i).repeat(49)}\n`); // 50 bytes each
    log.close();
    expect(log.bytes).toBe(500);
    // segments of 100 bytes: 0-1, 2-3, 4-5, 6-7, 8-9 -> the last two segments are kept
    expect(readFileSync(join(dir, "output.log.1"), "utf8")).toBe(`${"6".repeat(49)}\n${"7".repeat(49)}\n`);
    expect(readFileSync(join(dir, "output.log"), "utf8")).toBe(`${"8".repeat(49)}\n${"9".repeat(49)}\n`);
    expect(log.droppedBytes).toBe(300);
    expect(readCommandOutput(dir).data.toString()).toBe([6, 7, 8, 9].map((i) => `${String(i).repeat(49)}\n`).join(""));
  });

  it("a write error turns the log off without throwing", () => {
    const errors: Error[] = [];
    const file = join(mkdtempSync(join(tmpdir(), "cce-olog-")), "a-file");
    writeFileSync(file, "");
    const log = new OutputLog(join(file, "run"), 100, (e) => errors.push(e)); // a file where a folder should be
    expect(() => log.write("data")).not.toThrow();
    expect(errors.length).toBe(1);
    expect(existsSync(join(file, "run"))).toBe(false);
  });
});

describe("FileTail", () => {
  it("reads what is appended and follows a rotation without losing bytes", () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-tail-"));
    const log = new OutputLog(dir, 10);
    const tail = new FileTail(join(dir, "output.log"));
    expect(tail.read().length).toBe(0);
    let seen = "";
    log.write("aaaaa");
    seen += tail.read().toString();
    log.write("bbbbbbb"); // rotates: output.log -> output.log.1
    log.write("cc");
    seen += tail.read().toString();
    log.write("dd");
    seen += tail.read().toString();
    log.close();
    tail.close();
    expect(seen).toBe("aaaaabbbbbbbccdd");
  });
});
