import { isUtf8 } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Utf8Chunker } from "../../src/process/utf8-chunker.js";

/** Bytes that exercise UTF-8 decoding: whole characters of every width, their fragments, and invalid bytes. */
const utf8ish = fc
  .array(
    fc.oneof(
      fc.string({ unit: "binary", maxLength: 8 }).map((s) => [...Buffer.from(s)]),
      fc.constantFrom([0xc3], [0xa9], [0xe6, 0x97], [0xf0, 0x9f], [0x98, 0x80], [0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe0, 0x80], [0xf4, 0x90, 0x80, 0x80]),
      fc.uint8Array({ maxLength: 6 }).map((a) => [...a]),
    ),
    { maxLength: 60 },
  )
  .map((parts) => Buffer.from(parts.flat()));

/** The input cut into reads at random places (some empty). */
function reads(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
}

function chunkAll(chunker: Utf8Chunker, input: Buffer[]): Buffer[] {
  return [...input.flatMap((r) => chunker.push(r)), ...chunker.end()];
}

describe("Utf8Chunker", () => {
  it("decoded piecewise equals the whole stream decoded at once, whatever the bytes and read boundaries (property)", () => {
    fc.assert(
      fc.property(utf8ish, fc.array(fc.nat(), { maxLength: 12 }), fc.integer({ min: 4, max: 40 }), (bytes, cuts, max) => {
        const pieces = chunkAll(new Utf8Chunker(max), reads(bytes, cuts));
        expect(pieces.map((p) => p.toString("utf8")).join("")).toBe(bytes.toString("utf8"));
        for (const p of pieces) {
          expect(p.length).toBeGreaterThan(0);
          expect(p.length).toBeLessThanOrEqual(max);
          expect(isUtf8(p)).toBe(true); // every piece is text on its own: no character split
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("valid text is never cut inside a character, and its pieces are views of the reads (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), fc.array(fc.nat(), { maxLength: 12 }), fc.integer({ min: 4, max: 40 }), (text, cuts, max) => {
        const pieces = chunkAll(new Utf8Chunker(max), reads(Buffer.from(text), cuts));
        expect(pieces.map((p) => p.toString("utf8")).join("")).toBe(text);
        // Each piece is valid UTF-8 on its own (the text itself may contain U+FFFD, so look at the bytes).
        for (const p of pieces) expect(isUtf8(p)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("holds back a character cut by a read and flushes an unfinished one as U+FFFD at the end", () => {
    const c = new Utf8Chunker(64);
    expect(c.push(Buffer.from([0x61, 0xe6, 0x97]))).toEqual([Buffer.from("a")]);
    expect(c.push(Buffer.from([0xa5]))).toEqual([Buffer.from("日")]);
    expect(c.push(Buffer.from([0xf0, 0x9f]))).toEqual([]);
    expect(c.end().map(String)).toEqual(["\ufffd"]);
  });

  it("cuts at most maxBytes per piece, backing up to a character's first byte", () => {
    const pieces = new Utf8Chunker(5).push(Buffer.from("aaaa€bb"));
    expect(pieces.map(String)).toEqual(["aaaa", "€bb"]);
    const invalid = new Utf8Chunker(4).push(Buffer.from([0xff, 0xff, 0x61]));
    expect(invalid.map(String)).toEqual(["\ufffd", "\ufffda"]); // U+FFFD is 3 bytes: one per piece of 4
  });
});
