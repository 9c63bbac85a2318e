import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TextTail } from "../../src/client/text-tail.js";
import { TailBuffer } from "../../src/process/tail-buffer.js";

describe("TextTail", () => {
  it("keeps what TailBuffer keeps of the same text, and says truncated when it does (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { maxLength: 30 }), fc.integer({ min: 1, max: 120 }), (pieces, limit) => {
        const text = new TextTail(limit);
        const bytes = new TailBuffer(limit);
        for (const p of pieces) {
          text.write(p);
          bytes.write(Buffer.from(p));
        }
        expect(text.toString()).toBe(bytes.toString());
        expect(text.truncated).toBe(bytes.truncated);
      }),
      { numRuns: 3000 },
    );
  });
});
