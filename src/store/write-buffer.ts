import { applyEnd, matchesQuery, newestFirst, successfulDurations } from "./record.js";
import type { ExecutionEnd, ExecutionQuery, ExecutionRecord, TaskListRun } from "./types.js";

/** A write the Redis store could not deliver, kept until Redis is back. */
export type BufferedWrite =
  | { op: "execution"; rec: ExecutionRecord }
  | { op: "end"; id: string; patch: ExecutionEnd & { ended_at: number } }
  | { op: "run"; run: TaskListRun }
  | { op: "clear"; before: number };

/** One queued write; `version` changes whenever a later write is merged into it. */
export interface BufferEntry {
  readonly key: string;
  write: BufferedWrite;
  version: number;
}

/**
 * Bounded, ordered, coalescing queue of writes made while Redis is unreachable.
 *
 * Coalescing keeps the bound meaningful: an execution's end is merged into its buffered start
 * (one entry per execution), and a task-list run's later save replaces its earlier one. When the
 * bound is exceeded the oldest entry is dropped and counted. The queue also answers reads while
 * degraded ("what the buffer has"). A Map keeps insertion order and gives O(1) lookups.
 */
export class WriteBuffer {
  private readonly entries = new Map<string, BufferEntry>();
  private seq = 0;
  /** Entries dropped to honour the bound since the last resetDropped(). */
  dropped = 0;

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new RangeError("buffer bound must be >= 1");
  }

  get size(): number {
    return this.entries.size;
  }

  /** Queues a write; returns how many entries were dropped to make room (0 or 1). */
  push(write: BufferedWrite): number {
    switch (write.op) {
      case "execution":
        // A new start replaces the record wholesale: re-queue it at the end.
        this.entries.delete(`x:${write.rec.id}`);
        return this.add(`x:${write.rec.id}`, write);
      case "end": {
        const start = this.entries.get(`x:${write.id}`);
        if (start && start.write.op === "execution") {
          start.write = { op: "execution", rec: applyEnd(start.write.rec, write.patch) };
          start.version++;
          return 0;
        }
        return this.add(`e:${write.id}:${this.seq++}`, write);
      }
      case "run":
        this.entries.delete(`r:${write.run.run_id}`);
        return this.add(`r:${write.run.run_id}`, write);
      case "clear":
        return this.add(`c:${this.seq++}`, write);
    }
  }

  /** Applies a clear to the buffered executions and queues it for Redis; returns how many buffered records it removed. */
  clear(before: number): number {
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (entry.write.op === "execution" && entry.write.rec.started_at < before) {
        this.entries.delete(key);
        removed++;
      }
    }
    this.push({ op: "clear", before });
    return removed;
  }

  /** The oldest entry with its version, for the flusher. */
  first(): { entry: BufferEntry; version: number } | undefined {
    const entry = this.entries.values().next().value as BufferEntry | undefined;
    return entry ? { entry, version: entry.version } : undefined;
  }

  /** Removes a delivered entry, unless a write was merged into it meanwhile (then it goes again). */
  delivered(taken: { entry: BufferEntry; version: number }): void {
    if (this.entries.get(taken.entry.key) === taken.entry && taken.entry.version === taken.version) this.entries.delete(taken.entry.key);
  }

  resetDropped(): number {
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }

  getExecution(id: string): ExecutionRecord | undefined {
    const e = this.entries.get(`x:${id}`);
    return e && e.write.op === "execution" ? e.write.rec : undefined;
  }

  listExecutions(query: ExecutionQuery, limit: number): ExecutionRecord[] {
    return this.executions().filter((r) => matchesQuery(r, query)).sort(newestFirst).slice(0, limit);
  }

  recentDurations(category: string, limit: number): number[] {
    return successfulDurations(this.executions().sort(newestFirst), category, limit);
  }

  getRun(runId: string): TaskListRun | undefined {
    const e = this.entries.get(`r:${runId}`);
    return e && e.write.op === "run" ? e.write.run : undefined;
  }

  listRuns(limit: number): TaskListRun[] {
    const runs: TaskListRun[] = [];
    for (const e of this.entries.values()) if (e.write.op === "run") runs.push(e.write.run);
    return runs.sort(newestFirst).slice(0, limit);
  }

  private executions(): ExecutionRecord[] {
    const out: ExecutionRecord[] = [];
    for (const e of this.entries.values()) if (e.write.op === "execution") out.push(e.write.rec);
    return out;
  }

  private add(key: string, write: BufferedWrite): number {
    this.entries.set(key, { key, write, version: 0 });
    if (this.entries.size <= this.max) return 0;
    const oldest = this.entries.keys().next().value as string;
    this.entries.delete(oldest);
    this.dropped++;
    return 1;
  }
}
