import { EventEmitter, once } from "node:events";
import type { Logger } from "../logger.js";
import { Notifications } from "../protocol/index.js";
import { claimRunFolder, readReplay, ReplayWriter } from "../runs/index.js";
import { copyWithFields } from "../process/index.js";
import { framePool } from "./frame-pool.js";
import { jsonWithUtf8Data } from "./output-frame.js";
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
  /** The execution's run folder: every notification also goes to its (capped) replay file. */
  runDir?: string;
  /** The cap of the replay file (head and latest output kept, the middle dropped with a gap notice). */
  replayFileMaxBytes: number;
  /** How long a detached execution keeps running, waiting for its client to come back. */
  graceMs: number;
  /** Called when the grace period ends with nobody attached (the owner then cancels the work). */
  onAbandoned: () => void;
  logger: Logger;
}

/**
 * The notification stream of a resumable execution. While a session is attached it forwards to it;
 * when the connection drops it keeps the execution's notifications (a bounded ring in memory, and
 * a capped replay file in the run folder) for a grace period, and a client that attaches again with
 * the last `event_seq` it saw gets the missed notifications, then the rest live.
 *
 * A replay goes at the client's pace: the file is read a line at a time and reading waits while the
 * client's socket is backed up. Meanwhile the channel reports itself congested, so the execution
 * waits too (as it would for an attached client) and the replay catches up with it.
 */
export class ExecutionChannel extends EventEmitter<{ drain: [] }> implements NotificationSink {
  private session: NotificationSink | undefined;
  private replaying = false;
  private ring: StoredEvent[] = [];
  private ringSize = 0;
  private seq = 0;
  private readonly file: ReplayWriter | undefined;
  /** Keeps pruning away from the run folder while the channel can still replay it. */
  private releaseRunDir = () => {};
  private graceTimer: NodeJS.Timeout | undefined;
  private finished = false;
  private readonly forwardDrain = () => this.emit("drain");

  constructor(private readonly options: ChannelOptions) {
    super();
    if (options.runDir) {
      this.file = new ReplayWriter({ dir: options.runDir, maxBytes: options.replayFileMaxBytes, logger: options.logger });
      // A resumed task list writes to its run's file again: its numbering goes on, replays stay in order.
      this.seq = this.file.lastSeq;
      if (!this.file.broken) this.releaseRunDir = claimRunFolder(options.runDir);
    }
  }

  get executionId(): string {
    return this.options.executionId;
  }

  /** A session is attached (one whose connection closed after the work ended does not count). */
  get attached(): boolean {
    return this.session !== undefined && !this.session.isClosed;
  }

  get isCongested(): boolean {
    return this.replaying || (this.session?.isCongested ?? false);
  }

  get isClosed(): boolean {
    return false;
  }

  get lastSeq(): number {
    return this.seq;
  }

  notify(method: string, params: unknown): void {
    const seq = ++this.seq;
    // Output keeps its bytes (copyWithFields): its line and frame are built from them, not from text.
    const withSeq = copyWithFields(params as Record<string, unknown>, { event_seq: seq });
    const frame = jsonWithUtf8Data(`{"seq":${seq},"method":${JSON.stringify(method)},"params":`, withSeq, "}");
    const line = frame ?? JSON.stringify({ seq, method, params: withSeq });
    this.ring.push({ seq, method, params: withSeq, size: line.length });
    this.ringSize += line.length;
    while (this.ringSize > this.options.ringBytes && this.ring.length > 1) this.ringSize -= this.ring.shift()!.size;
    // After the end (a late hook.warning) the event is in the ring only, which always holds the newest.
    if (!this.finished) this.file?.append(seq, line);
    if (frame) framePool.give(frame); // written synchronously
    this.session?.notify(method, withSeq);
  }

  /** The work is over: the channel is kept for one more grace period, so a late client still gets the result. */
  markFinished(): void {
    this.finished = true;
    // The file is complete: release its descriptor now, not after the grace period (a loop of short
    // resumable executions would otherwise hold one open file each for CC_EXECUTOR_RESUME_GRACE).
    this.file?.close();
    this.startGrace();
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /**
   * Attaches a session: first sends it every notification after `sinceSeq` (from the replay file
   * for what the ring no longer holds, at the session's pace, then from the ring), then the rest
   * live, with no gap in between. Notifications that are kept nowhere any more are announced by one
   * `replay.gap` notification. Returns how many notifications were replayed.
   */
  async attach(session: NotificationSink, sinceSeq: number): Promise<number> {
    this.clearGrace();
    let cursor = sinceSeq;
    let sent = 0;
    this.replaying = true;
    try {
      while (this.file && !this.file.broken && this.ringMisses(cursor) && !session.isClosed) {
        let progressed = false;
        for await (const item of readReplay(this.options.runDir!, cursor)) {
          if (session.isClosed) break;
          if (item.kind === "gap") {
            this.sendGap(session, item.fromSeq, item.toSeq, "the replay file is capped (CC_EXECUTOR_REPLAY_FILE_MAX): its middle was dropped", item.missedBytes);
            cursor = item.toSeq;
            continue;
          }
          session.notify(item.method, item.params);
          cursor = item.seq;
          sent++;
          progressed = true;
          if (session.isCongested) await drained(session);
        }
        if (!progressed) break;
      }
    } finally {
      this.replaying = false;
    }
    if (session.isClosed) {
      if (!this.attached) this.startGrace();
      return sent;
    }
    // From here on synchronous: nothing can be emitted between the replay and the attach.
    if (this.ringMisses(cursor)) this.sendGap(session, cursor + 1, this.ring[0]!.seq - 1, "not kept: the replay file could not be written and the in-memory buffer holds only the newest");
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
    if (this.finished) this.startGrace();
    if (!session.isCongested) this.emit("drain"); // the execution waited during the replay
    return sent;
  }

  detach(): void {
    this.session?.off("drain", this.forwardDrain);
    this.session = undefined;
    this.emit("drain"); // producers paused for the old socket read again (into the ring and the file)
    this.startGrace();
  }

  close(): void {
    this.clearGrace();
    this.file?.close();
    this.releaseRunDir();
  }

  /** True when notifications after `cursor` exist that the ring no longer holds. */
  private ringMisses(cursor: number): boolean {
    return cursor < this.seq && (this.ring[0]?.seq ?? Infinity) > cursor + 1;
  }

  private sendGap(session: NotificationSink, fromSeq: number, toSeq: number, reason: string, missedBytes?: number): void {
    const params: Record<string, unknown> = { execution_id: this.executionId, from_seq: fromSeq, to_seq: toSeq, missed_events: toSeq - fromSeq + 1, reason };
    if (missedBytes !== undefined) params.missed_bytes = missedBytes;
    session.notify(Notifications.replayGap, params);
  }

  private startGrace(): void {
    this.clearGrace();
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      if (!this.attached || this.finished) this.options.onAbandoned();
    }, this.options.graceMs);
    this.graceTimer.unref();
  }

  private clearGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }
}

/** Resolves when the sink's socket has drained (a closing session emits "drain" as well). */
async function drained(sink: NotificationSink): Promise<void> {
  if (!sink.isCongested || sink.isClosed) return;
  await once(sink as unknown as EventEmitter, "drain");
}
