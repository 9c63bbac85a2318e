import { closeSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { RunFiles } from "./layout.js";

/** Default segment size: MAX_BUFFER_SIZE's default (the output log keeps 8 to 16 MiB). */
export const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;

/**
 * A command's output in its run folder, bounded: output.log grows to `segmentBytes`, then becomes
 * output.log.1 (replacing the one before) and a new output.log starts. So the last `segmentBytes`
 * to 2 × `segmentBytes` of output are kept, and what was dropped is counted. Writes are
 * synchronous (no memory grows behind a slow disk); a write error turns the log off and never
 * touches the execution.
 */
export class OutputLog {
  private fd: number | undefined;
  private segment = 0;
  private total = 0;
  private dropped = 0;
  private previous = 0;

  constructor(
    private readonly dir: string,
    private readonly segmentBytes = DEFAULT_SEGMENT_BYTES,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.fd = openSync(join(dir, RunFiles.output), "a", 0o600);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  get bytes(): number {
    return this.total;
  }

  get droppedBytes(): number {
    return this.dropped;
  }

  write(data: string | Buffer): void {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    this.total += buf.length;
    if (this.fd === undefined) return;
    try {
      if (this.segment > 0 && this.segment + buf.length > this.segmentBytes) this.rotate();
      writeSync(this.fd, buf);
      this.segment += buf.length;
    } catch (err) {
      this.fail(err as Error);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already gone
    }
    this.fd = undefined;
  }

  private rotate(): void {
    closeSync(this.fd!);
    this.fd = undefined;
    renameSync(join(this.dir, RunFiles.output), join(this.dir, RunFiles.outputPrevious));
    this.dropped += this.previous;
    this.previous = this.segment;
    this.segment = 0;
    this.fd = openSync(join(this.dir, RunFiles.output), "a", 0o600);
  }

  private fail(err: Error): void {
    if (this.fd !== undefined) this.close();
    this.fd = undefined;
    this.onError(err);
  }
}
