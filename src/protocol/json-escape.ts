import { JSON_ESCAPE_WASM } from "./json-escape-wasm.js";

/**
 * JSON text built around UTF-8 bytes without decoding them: `head` + the bytes escaped as the
 * inside of a JSON string + `tail`, as one Buffer. The result is byte for byte what
 * Buffer.from(head + JSON.stringify(bytes.toString()).slice(1, -1) + tail) gives, at a fraction of
 * the cost: V8's JSON.stringify of a long string and the UTF-8 round trip are what bound the
 * streaming of output otherwise. `bytes` must be valid UTF-8 (the output chunker guarantees it).
 */
export function jsonAroundUtf8(head: string, bytes: Uint8Array, tail: string, alloc: (size: number) => Buffer = Buffer.allocUnsafe): Buffer {
  const escaper = wasmEscaper();
  if (!escaper) return Buffer.from(head + JSON.stringify(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8")).slice(1, -1) + tail);
  const escaped = escaper.escape(bytes);
  const headBytes = Buffer.byteLength(head);
  const out = alloc(headBytes + escaped.length + Buffer.byteLength(tail));
  out.write(head, 0, "utf8");
  out.set(escaped, headBytes);
  out.write(tail, headBytes + escaped.length, "utf8");
  return out;
}

/** Escape class of each byte as JSON.stringify treats it: 0 as is, 1 short escape (\n, \"), 2 \u00XX. */
function escapeTables(): Uint8Array {
  const t = new Uint8Array(528);
  for (let b = 0; b < 0x20; b++) t[b] = 2;
  const short: Array<[number, string]> = [[0x08, "b"], [0x09, "t"], [0x0a, "n"], [0x0c, "f"], [0x0d, "r"], [0x22, '"'], [0x5c, "\\"]];
  for (const [b, letter] of short) {
    t[b] = 1;
    t[256 + b] = letter.charCodeAt(0);
  }
  t.set(Buffer.from("0123456789abcdef"), 512);
  return t;
}

/** The little of the WebAssembly API used here (the project compiles without the DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

const SRC = 1024;
const PAGE = 64 * 1024;

class WasmEscaper {
  private view: Uint8Array;

  constructor(
    private readonly memory: WasmMemory,
    private readonly run: (src: number, len: number, dst: number) => number,
  ) {
    this.view = new Uint8Array(memory.buffer);
    this.view.set(escapeTables(), 0);
  }

  /** The escaped bytes, in the module's memory: valid until the next call. */
  escape(bytes: Uint8Array): Uint8Array {
    const dst = SRC + bytes.length;
    const needed = dst + 6 * bytes.length + 16;
    if (needed > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((needed - this.memory.buffer.byteLength) / PAGE));
      this.view = new Uint8Array(this.memory.buffer);
    }
    this.view.set(bytes, SRC);
    const end = this.run(SRC, bytes.length, dst);
    return this.view.subarray(dst, end);
  }
}

let escaper: WasmEscaper | null | undefined;

/** Compiled on first use (not at start-up); null where WebAssembly SIMD is not available, e.g. --jitless. */
function wasmEscaper(): WasmEscaper | null {
  if (escaper !== undefined) return escaper;
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const instance = new wasm.Instance(new wasm.Module(Buffer.from(JSON_ESCAPE_WASM, "base64")));
    const { memory, escape } = instance.exports as { memory: WasmMemory; escape: (src: number, len: number, dst: number) => number };
    escaper = new WasmEscaper(memory, escape);
  } catch {
    escaper = null;
  }
  return escaper;
}

/** For tests: run without the WebAssembly escaper (false) or with it again (true). */
export function useWasmEscaper(on: boolean): void {
  escaper = on ? undefined : null;
}
