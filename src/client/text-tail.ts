/**
 * Keeps the end of a text stream: the last `limit` bytes of its UTF-8, as TailBuffer does for
 * bytes, without encoding every piece on arrival (encoding 64 KiB pieces only to drop most of them
 * cost the client as much as parsing them). Pieces are kept as strings; a piece is dropped once the
 * pieces after it surely hold `limit` bytes (at least one byte per UTF-16 unit), and the exact cut
 * is made once, when the text is asked for.
 */
export class TextTail {
  private pieces: string[] = [];
  /** UTF-16 units in `pieces`. */
  private units = 0;
  private dropped = false;

  constructor(private readonly limit: number) {}

  write(text: string): void {
    if (this.limit <= 0) {
      this.dropped ||= text.length > 0;
      return;
    }
    this.pieces.push(text);
    this.units += text.length;
    while (this.pieces.length > 1 && this.units - this.pieces[0]!.length >= this.limit) {
      this.units -= this.pieces.shift()!.length;
      this.dropped = true;
    }
  }

  /** Whether anything written is not in toString(). */
  get truncated(): boolean {
    return this.dropped || (this.units > this.limit / 3 && Buffer.byteLength(this.pieces.join("")) > this.limit);
  }

  /** The last `limit` bytes as text; a character cut at the start is dropped. */
  toString(): string {
    const text = this.pieces.join("");
    const bytes = Buffer.from(text);
    if (bytes.length <= this.limit) return text;
    this.dropped = true;
    let start = bytes.length - this.limit;
    while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++; // not in the middle of a character
    return bytes.subarray(start).toString("utf8");
  }
}
