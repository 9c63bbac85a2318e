import type { OutputStreamName } from "./supervisor.js";

/**
 * Pipe reads that arrive in one turn of the event loop, delivered together right after it, with
 * consecutive reads of the same stream merged (up to `maxBytes`). A process that writes many small
 * pieces (a line at a time, flushed) is then sent in fewer, larger chunks: each chunk costs a frame,
 * a socket write and a message for the client to parse, whatever its size. The order of the reads
 * is kept; the delay is one turn of the event loop.
 */
export class ReadBatch {
  private runs: Array<{ stream: OutputStreamName; reads: Buffer[]; bytes: number }> = [];
  private scheduled = false;

  constructor(
    private readonly deliver: (stream: OutputStreamName, bytes: Buffer) => void,
    private readonly maxBytes: number,
  ) {}

  add(stream: OutputStreamName, read: Buffer): void {
    const last = this.runs.at(-1);
    if (last && last.stream === stream && last.bytes + read.length <= this.maxBytes) {
      last.reads.push(read);
      last.bytes += read.length;
    } else this.runs.push({ stream, reads: [read], bytes: read.length });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Delivers what is pending now (also called when a stream closes, before its end). */
  flush(): void {
    this.scheduled = false;
    const runs = this.runs;
    this.runs = [];
    for (const run of runs) this.deliver(run.stream, run.reads.length === 1 ? run.reads[0]! : Buffer.concat(run.reads, run.bytes));
  }
}
