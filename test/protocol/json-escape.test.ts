import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { jsonAroundUtf8, useWasmEscaper } from "../../src/protocol/json-escape.js";

const reference = (head: string, bytes: Buffer, tail: string) => Buffer.from(head + JSON.stringify(bytes.toString("utf8")).slice(1, -1) + tail);

describe.each([
  ["WebAssembly", true],
  ["fallback", false],
])("jsonAroundUtf8 (%s)", (_name, wasm) => {
  afterEach(() => useWasmEscaper(true));

  it("gives exactly JSON.stringify's escaping of any text (property)", () => {
    useWasmEscaper(wasm);
    fc.assert(
      fc.property(fc.string({ unit: "grapheme-ascii", maxLength: 100 }), fc.string({ unit: "grapheme", maxLength: 300 }), fc.string({ maxLength: 20 }), (ascii, text, head) => {
        for (const s of [ascii, text, ascii + text]) {
          const bytes = Buffer.from(s);
          expect(jsonAroundUtf8(head, bytes, "}").equals(reference(head, bytes, "}"))).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("escapes every ASCII byte at every position of a 16-byte block, and long inputs", () => {
    useWasmEscaper(wasm);
    for (let b = 0; b < 128; b++) {
      for (let pos = 0; pos < 20; pos++) {
        const bytes = Buffer.alloc(37, 0x61);
        bytes[pos] = b;
        expect(jsonAroundUtf8("[", bytes, "]").toString()).toBe(reference("[", bytes, "]").toString());
      }
    }
    const big = Buffer.from("\x1b[31mred\x1b[0m \"q\" \\ tab\there — ✓ 🚀\n".repeat(20_000)); // ~1 MB: more than the module's first memory
    expect(jsonAroundUtf8("", big, "").equals(reference("", big, ""))).toBe(true);
    expect(JSON.parse(`"${jsonAroundUtf8("", big, "").toString()}"`)).toBe(big.toString());
  });
});

describe("json-escape-wasm.ts", () => {
  it("is the compiled json-escape.wat (node scripts/build-wasm.js --check)", () => {
    expect(execFileSync(process.execPath, ["scripts/build-wasm.js", "--check"], { encoding: "utf8" })).toContain("matches");
  });
});
