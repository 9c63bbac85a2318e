import { EventEmitter } from "node:events";
import { createReadStream, createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import type { Logger } from "../logger.js";
import type { NotificationSink } from "./sink.js";

interface StoredEvent {
  seq: number;
  method: string;
  params: Record<string, unknown>;
  size: number;
}

export interface ChannelOptions {
  executionId: string;
  /** Bytes of recent notifications kept in memory for replay. */
  ringBytes: number;
  /** Every notification is also appended here (JSON lines), so older ones can be replayed too. */
  spillPath?: string;
  /** How long a detached execution keeps running, waiting for its client to come back. */
  graceMs: number;
  /** Called when the grace period ends with nobody attached (the owner then cancels the work). */
  onAbandoned: () => void;
  logger: Logger;
}

/**
 * The notification stream of a resumable execution. While a session is attached it forwards to it;
 * when the connection drops it keeps the execution's notifications (a bounded ring in memory,
 * everything in a spill file) for a grace period, and a client that attaches again with the last
 * `event_seq` it saw gets the missed notifications, then the rest live.
 */
export class ExecutionChannel extends EventEmitter<{ drain: [] }> implements NotificationSink {
  private session: NotificationSink | undefined;
  private ring: StoredEvent[] = [];
  private ringSize = 0;
  private seq = 0;
  private spill: WriteStream | undefined;
  private spillBroken = false;
  /** Set once the work is over: the spill file is complete and its descriptor is being released. */
  private spillEnded: Promise<void> | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private finished = false;
  private readonly forwardDrain = () => this.emit("drain");

  constructor(private readonly options: ChannelOptions) {
    super();
    if (options.spillPath) {
      try {
        mkdirSync(dirname(options.spillPath), { recursive: true });
        this.spill = createWriteStream(options.spillPath, { flags: "a" });
        this.spill.on("error", (err) => this.spillFailed(err));
      } catch (err) {
        this.spillFailed(err as Error);
      }
    }
  }

  get executionId(): string {
    return this.options.executionId;
  }

  get attached(): boolean {
    return this.session !== undefined;
  }

  get isCongested(): boolean {
    return this.session?.isCongested ?? false;
  }

  get isClosed(): boolean {
    return false;
  }

  get lastSeq(): number {
    return this.seq;
  }

  notify(method: string, params: unknown): void {
    const seq = ++this.seq;
    const withSeq = { ...(params as Record<string, unknown>), event_seq: seq };
    const line = JSON.stringify({ seq, method, params: withSeq });
    this.ring.push({ seq, method, params: withSeq, size: line.length });
    this.ringSize += line.length;
    while (this.ringSize > this.options.ringBytes && this.ring.length > 1) this.ringSize -= this.ring.shift()!.size;
    // After the end (a late hook.warning) the event is in the ring only, which always holds the newest.
    if (this.spill && !this.spillBroken && !this.spillEnded) this.spill.write(`${line}\n`);
    this.session?.notify(method, withSeq);
  }

  /** The work is over: the channel is kept for one more grace period, so a late client still gets the result. */
  markFinished(): void {
    this.finished = true;
    // The file is complete: release its descriptor now, not after the grace period (a loop of short
    // resumable executions would otherwise hold one open file each for CC_EXECUTOR_RESUME_GRACE).
    const spill = this.spill;
    if (spill && !this.spillEnded) {
      this.spillEnded = new Promise<void>((resolve) => {
        spill.once("close", () => resolve());
        spill.once("error", () => resolve());
        spill.end();
      });
    }
    this.startGrace();
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /**
   * Attaches a session: first sends it every notification after `sinceSeq` (from the spill file for
   * what the ring no longer holds, then from the ring), then the rest live, with no gap in between.
   * Returns how many notifications were replayed.
   */
  async attach(session: NotificationSink, sinceSeq: number): Promise<number> {
    if (!this.finished) this.clearGrace();
    let cursor = sinceSeq;
    let sent = 0;
    for (let round = 0; round < 3 && this.spill && !this.spillBroken && (this.ring[0]?.seq ?? Infinity) > cursor + 1 && cursor < this.seq; round++) {
      await (this.spillEnded ?? new Promise<void>((resolve) => this.spill!.write("", () => resolve())));
      const lines = createInterface({ input: createReadStream(this.options.spillPath!) });
      for await (const line of lines) {
        if (line === "") continue;
        const ev = JSON.parse(line) as StoredEvent;
        if (ev.seq > cursor) {
          session.notify(ev.method, ev.params);
          cursor = ev.seq;
          sent++;
        }
      }
    }
    // From here on synchronous: nothing can be emitted between the replay and the attach.
    for (const ev of this.ring) {
      if (ev.seq > cursor) {
        session.notify(ev.method, ev.params);
        cursor = ev.seq;
        sent++;
      }
    }
    this.session?.off("drain", this.forwardDrain);
    this.session = session;
    session.on("drain", this.forwardDrain);
    return sent;
  }

  detach(): void {
    this.session?.off("drain", this.forwardDrain);
    this.session = undefined;
    this.emit("drain"); // producers paused for the old socket read again (into the ring and spill)
    this.startGrace();
  }

  close(): void {
    this.clearGrace();
    this.spill?.end();
  }

  private startGrace(): void {
    this.clearGrace();
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      if (!this.session || this.finished) this.options.onAbandoned();
    }, this.options.graceMs);
    this.graceTimer.unref();
  }

  private clearGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  private spillFailed(err: Error): void {
    if (this.spillBroken) return;
    this.spillBroken = true;
    this.options.logger.warn({ err: err.message, path: this.options.spillPath }, "cannot write the replay file; only the in-memory replay buffer is kept");
  }
}
