/**
 * Keeps the last `limit` bytes written to it. Memory stays bounded whatever the process prints;
 * `truncated` says whether anything was dropped.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private total = 0;

  /** keep: false counts bytes only (the output is streamed elsewhere); `truncated` still says whether a tail of `limit` would have dropped any. */
  constructor(
    private readonly limit: number,
    private readonly keep = true,
  ) {}

  write(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.limit <= 0 || !this.keep) return;
    if (chunk.length >= this.limit) {
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - this.limit))];
      this.size = this.limit;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit) {
      const first = this.chunks[0]!;
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  get truncated(): boolean {
    return this.keep ? this.total > this.size : this.total > this.limit;
  }

  /** Bytes ever written. */
  get totalBytes(): number {
    return this.total;
  }

  /** The kept tail as text; a character cut at the start of the tail is dropped. */
  toString(): string {
    const buf = Buffer.concat(this.chunks, this.size);
    let start = 0;
    // Skip UTF-8 continuation bytes left over from a cut character.
    while (this.truncated && start < buf.length && start < 4 && (buf[start]! & 0xc0) === 0x80) start++;
    return buf.subarray(start).toString("utf8");
  }
}
