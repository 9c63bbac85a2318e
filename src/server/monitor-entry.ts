import { Notifications } from "../protocol/index.js";
import type { ExecutionInfo, ExecutionKind } from "./monitor-types.js";
import type { Session } from "./session.js";
import { utf8DataLength } from "../process/index.js";

/** Output kept per execution for replay and download. */
export const TAIL_BYTES = 256 * 1024;
/** Other notifications kept per execution (task.*, claude.*, process.started ...), in bytes of JSON. */
const OTHER_BYTES = 256 * 1024;
const LABEL_MAX = 300;

/** One notification of an execution as the monitor keeps it. */
export interface Kept {
  /** 1, 2, 3 ... per execution: what a watcher has been sent. */
  seq: number;
  method: string;
  params: Record<string, unknown>;
  bytes: number;
  /** Bytes of all notifications of the execution up to and including this one (what a watcher is owed is counted with it). */
  end: number;
  output: boolean;
}

/**
 * What the monitor knows of one execution: its state for monitor.list, and a bounded tail of its
 * notifications (output and the rest, each with its own budget) for watchers and the download.
 */
export class Entry {
  status = "running";
  paused = false;
  readonly startedAt = Date.now();
  endedAt: number | undefined;
  pid: number | undefined;
  exitCode: number | null | undefined;
  errorType: string | undefined;
  kept: Kept[] = [];
  private seq = 0;
  /** Bytes of every notification so far (kept or not). */
  totalBytes = 0;
  outputBytes = 0;
  private keptOutput = 0;
  private keptOther = 0;
  tailTruncated = false;
  /** Sessions watching it (kept up to date by its WatchFanout). */
  watcherCount = 0;
  progress: { total: number; done: Set<string>; failed: Set<string>; skipped: Set<string>; current?: string } | undefined;

  constructor(
    readonly id: string,
    readonly kind: ExecutionKind,
    readonly label: string,
    /** The session that started it; dropped when it ends. */
    public owner: Session | undefined,
    readonly sessionId: string,
  ) {
    if (kind === "task-list") this.progress = { total: 0, done: new Set(), failed: new Set(), skipped: new Set() };
  }

  get running(): boolean {
    return this.endedAt === undefined;
  }

  get lastSeq(): number {
    return this.seq;
  }

  keep(method: string, params: Record<string, unknown>): Kept {
    const output = method === Notifications.processOutput;
    // Output is counted in UTF-8 bytes without decoding it (see utf8-text.ts).
    const bytes = output ? utf8DataLength(params) : JSON.stringify(params).length;
    this.totalBytes += bytes;
    const ev: Kept = { seq: ++this.seq, method, params, bytes, end: this.totalBytes, output };
    this.kept.push(ev);
    if (output) {
      this.keptOutput += bytes;
      this.outputBytes += bytes;
    } else this.keptOther += bytes;
    if (this.keptOutput > TAIL_BYTES || this.keptOther > OTHER_BYTES) this.compact();
    return ev;
  }

  /** The first kept notification after `seq` (kept is in seq order). */
  keptAfter(seq: number): Kept | undefined {
    let lo = 0;
    let hi = this.kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.kept[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return this.kept[lo];
  }

  /** Drops the oldest kept notifications down to 3/4 of each budget (amortised: not on every notification). */
  private compact(): void {
    let dropOutput = this.keptOutput > TAIL_BYTES ? this.keptOutput - (TAIL_BYTES * 3) / 4 : 0;
    let dropOther = this.keptOther > OTHER_BYTES ? this.keptOther - (OTHER_BYTES * 3) / 4 : 0;
    this.kept = this.kept.filter((ev) => {
      if (ev.output && dropOutput > 0) {
        dropOutput -= ev.bytes;
        this.keptOutput -= ev.bytes;
        this.tailTruncated = true;
        return false;
      }
      if (!ev.output && dropOther > 0) {
        dropOther -= ev.bytes;
        this.keptOther -= ev.bytes;
        return false;
      }
      return true;
    });
  }

  info(): ExecutionInfo {
    const info: ExecutionInfo = {
      id: this.id,
      kind: this.kind,
      label: this.label,
      status: this.status,
      paused: this.paused,
      started_at: new Date(this.startedAt).toISOString(),
      ended_at: this.endedAt === undefined ? null : new Date(this.endedAt).toISOString(),
      duration_ms: (this.endedAt ?? Date.now()) - this.startedAt,
      session_id: this.sessionId,
      output_bytes: this.outputBytes,
      tail_truncated: this.tailTruncated,
      watchers: this.watcherCount,
    };
    if (this.pid !== undefined) info.pid = this.pid;
    if (this.exitCode !== undefined) info.exit_code = this.exitCode;
    if (this.errorType !== undefined) info.error_type = this.errorType;
    if (this.progress) {
      const p = this.progress;
      info.progress = { total: p.total, completed: p.done.size, failed: p.failed.size, skipped: p.skipped.size };
      if (p.current !== undefined && this.running) info.progress.current = p.current;
    }
    return info;
  }
}

export function shortLabel(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > LABEL_MAX ? `${oneLine.slice(0, LABEL_MAX - 1)}…` : oneLine;
}

/** The line put before each task's output in a task list's downloaded output. */
export function taskHeader(params: Record<string, unknown>): string {
  return `\n===== task ${String(params.index ?? "?")}: ${String(params.title ?? params.task_id ?? "")} (attempt ${String(params.attempt ?? 1)}) =====\n`;
}
