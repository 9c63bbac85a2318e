import { StringDecoder } from "node:string_decoder";

/**
 * Turns raw pipe reads into UTF-8 strings of at most `maxBytes` each, never splitting a character:
 * a multi-byte sequence cut by a read boundary is held back until its remaining bytes arrive.
 */
export class Utf8Chunker {
  private readonly decoder = new StringDecoder("utf8");

  constructor(private readonly maxBytes: number) {
    if (maxBytes < 4) throw new Error("maxBytes must allow at least one UTF-8 character");
  }

  push(buf: Buffer): string[] {
    return this.split(this.decoder.write(buf));
  }

  /** Flushes a trailing incomplete sequence (as U+FFFD) when the stream ends. */
  end(): string[] {
    return this.split(this.decoder.end());
  }

  private split(text: string): string[] {
    if (text === "") return [];
    if (Buffer.byteLength(text) <= this.maxBytes) return [text];
    const pieces: string[] = [];
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < text.length; ) {
      const code = text.codePointAt(i)!;
      const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      const units = code >= 0x10000 ? 2 : 1;
      if (bytes + width > this.maxBytes) {
        pieces.push(text.slice(start, i));
        start = i;
        bytes = 0;
      }
      bytes += width;
      i += units;
    }
    if (start < text.length) pieces.push(text.slice(start));
    return pieces;
  }
}
