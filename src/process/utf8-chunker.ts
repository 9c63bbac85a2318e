import { isUtf8 } from "node:buffer";

/**
 * Cuts raw pipe reads into pieces of valid UTF-8 of at most `maxBytes` each, never splitting a
 * character: a multi-byte sequence cut by a read boundary is held back until its remaining bytes
 * arrive. Pieces stay bytes (views of the reads, nothing copied or decoded) when the input is valid
 * UTF-8; invalid bytes become U+FFFD exactly as decoding the whole stream at once would make them.
 * Joined and decoded, the pieces always equal the whole output decoded at once.
 */
export class Utf8Chunker {
  /** The start of a character whose remaining bytes have not arrived yet (at most 3 bytes). */
  private carry: Buffer | undefined;

  constructor(private readonly maxBytes: number) {
    if (maxBytes < 4) throw new Error("maxBytes must allow at least one UTF-8 character");
  }

  push(buf: Buffer): Buffer[] {
    const bytes = this.carry ? Buffer.concat([this.carry, buf]) : buf;
    const cut = completeLength(bytes);
    // Copied: a view would keep the whole read alive for three bytes.
    this.carry = cut < bytes.length ? Buffer.from(bytes.subarray(cut)) : undefined;
    return this.pieces(bytes.subarray(0, cut));
  }

  /** Flushes a trailing incomplete sequence (as U+FFFD) when the stream ends. */
  end(): Buffer[] {
    const rest = this.carry;
    this.carry = undefined;
    return rest ? this.pieces(rest) : [];
  }

  /** `bytes` starts and ends where a decoder of the whole stream would be between characters. */
  private pieces(bytes: Buffer): Buffer[] {
    if (bytes.length === 0) return [];
    if (!isUtf8(bytes)) return this.splitText(bytes.toString("utf8"));
    const pieces: Buffer[] = [];
    let start = 0;
    while (bytes.length - start > this.maxBytes) {
      let end = start + this.maxBytes;
      while ((bytes[end]! & 0xc0) === 0x80) end--; // back to the first byte of the character
      pieces.push(bytes.subarray(start, end));
      start = end;
    }
    pieces.push(bytes.subarray(start));
    return pieces;
  }

  /** The slow path, for input that is not valid UTF-8: the decoded text (with U+FFFD), cut by encoded size. */
  private splitText(text: string): Buffer[] {
    const pieces: Buffer[] = [];
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < text.length; ) {
      const code = text.codePointAt(i)!;
      const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      const units = code >= 0x10000 ? 2 : 1;
      if (bytes + width > this.maxBytes) {
        pieces.push(Buffer.from(text.slice(start, i)));
        start = i;
        bytes = 0;
      }
      bytes += width;
      i += units;
    }
    if (start < text.length) pieces.push(Buffer.from(text.slice(start)));
    return pieces;
  }
}

/**
 * The length of `bytes` without a trailing sequence that may still be completed by the next read
 * (a lead byte followed by fewer continuation bytes than it announces). Cutting right before a
 * byte that is not a continuation byte is always a character boundary for a UTF-8 decoder, valid
 * input or not, so whatever the held-back bytes turn out to be, decoding piecewise stays exact.
 */
function completeLength(bytes: Buffer): number {
  const n = bytes.length;
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const b = bytes[i]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back for the lead
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + length > n ? i : n;
  }
  return n;
}
