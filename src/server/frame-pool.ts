/**
 * Memory for outgoing output frames, used again once the socket has written them. Every frame of a
 * stream is 64 KiB or more; allocating each anew makes V8 collect garbage for the external memory
 * alone (a full mark-compact every few hundred MB streamed).
 */
export class FramePool {
  private readonly free: ArrayBuffer[] = [];
  private readonly ours = new WeakSet<ArrayBuffer>();

  constructor(
    /** Room of each pooled buffer: a 64 KiB chunk with its escapes and fields fits. */
    private readonly slabBytes = 96 * 1024,
    /** Free buffers kept at most (the rest are left to the GC). */
    private readonly maxFree = 16,
  ) {}

  take(size: number): Buffer {
    if (size > this.slabBytes) return Buffer.allocUnsafe(size);
    let slab = this.free.pop();
    if (!slab) {
      slab = new ArrayBuffer(this.slabBytes);
      this.ours.add(slab);
    }
    return Buffer.from(slab, 0, size);
  }

  /** Gives back a frame from take() once nothing reads it any more; anything else is ignored. */
  give(frame: Buffer): void {
    const slab = frame.buffer as ArrayBuffer;
    if (this.ours.has(slab) && this.free.length < this.maxFree && !this.free.includes(slab)) this.free.push(slab);
  }
}

/** The server's pool: output frames of every session. */
export const framePool = new FramePool();
