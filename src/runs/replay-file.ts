import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { silentLogger, type Logger } from "../logger.js";
import { entryNames } from "../dir-entries.js";

/**
 * The replay file of a resumable execution: every notification as one JSON line
 * `{"seq":N,"method":…,"params":…}`, so that a client that comes back gets what it missed.
 *
 * It is capped. The file is a series of segments of a quarter of the cap each: the first
 * (`events.jsonl`, the head: how the execution began) is always kept; later ones
 * (`events.<first seq>.jsonl`) rotate, and the oldest of them is deleted when there would be more
 * than three, so the most recent output is always there and the folder never holds more than the
 * cap (plus at most one notification per segment). What was deleted is one contiguous range of
 * sequence numbers, written down in `events.gap.json`; readers report it as a gap rather than
 * silently skipping it.
 */

export const HEAD_FILE = "events.jsonl";
export const GAP_FILE = "events.gap.json";
const TAIL_FILE = /^events\.(\d+)\.jsonl$/;
/** Tail segments kept: with the head, four segments of a quarter of the cap each. */
const TAIL_SEGMENTS = 3;
const MIN_SEGMENT = 64 * 1024;

/** The notifications dropped from the middle of a replay file (one contiguous range of seqs). */
export interface ReplayGap {
  from_seq: number;
  to_seq: number;
  events: number;
  bytes: number;
}

interface Segment {
  file: string;
  firstSeq: number;
  lastSeq: number;
  bytes: number;
  events: number;
}

/** The segments in a folder, head first, then by first seq. */
function listSegments(dir: string): Array<{ file: string; firstSeq: number }> {
  const names = entryNames(dir);
  const tail = names
    .map((name) => ({ name, m: TAIL_FILE.exec(name) }))
    .filter((x) => x.m)
    .map((x) => ({ file: join(dir, x.name), firstSeq: Number(x.m![1]) }))
    .sort((a, b) => a.firstSeq - b.firstSeq);
  return names.includes(HEAD_FILE) ? [{ file: join(dir, HEAD_FILE), firstSeq: 0 }, ...tail] : tail;
}

export function readGap(dir: string): ReplayGap | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, GAP_FILE), "utf8")) as ReplayGap;
  } catch {
    return undefined;
  }
}

/** The seq of the last complete line of a segment (0 when it has none), read from its end. */
function lastSeqOf(file: string): number {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    fd = openSync(file, "r");
    for (let window = 256 * 1024; ; window *= 4) {
      const length = Math.min(size, window);
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, size - length);
      const lines = buf.toString("utf8").split("\n");
      lines.pop(); // after the last newline: empty, or a line cut by a crash
      for (let i = lines.length - 1; i >= 0; i--) {
        const m = /^\{"seq":(\d+),/.exec(lines[i]!);
        if (m) return Number(m[1]);
      }
      if (length === size) return 0;
    }
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface ReplayWriterOptions {
  /** The execution's run folder. */
  dir: string;
  /** The cap of all segments together, in bytes. */
  maxBytes: number;
  logger?: Logger;
}

/**
 * Appends notifications to the replay file. Writes are synchronous: a line is on disk (in the page
 * cache) when `append` returns, so a reader never waits for a flush, and nothing piles up in memory
 * when the disk is slower than the execution. A failure (read-only or full disk, `runs/` not a
 * folder) is logged once and turns the writer off: the execution runs on, replay then has only the
 * in-memory ring.
 */
const NEWLINE = Buffer.from("\n");

export class ReplayWriter {
  private fd: number | undefined;
  private current: Segment | undefined;
  private head: Segment | undefined;
  private readonly tail: Segment[] = [];
  private gap: ReplayGap | undefined;
  private failed = false;
  private closed = false;
  private readonly segmentBytes: number;
  /** The last seq already in the folder (a resumed task list continues its run's numbering). */
  readonly lastSeq: number;

  constructor(private readonly options: ReplayWriterOptions) {
    this.segmentBytes = Math.max(MIN_SEGMENT, Math.floor(options.maxBytes / (TAIL_SEGMENTS + 1)));
    let lastSeq = 0;
    try {
      mkdirSync(options.dir, { recursive: true, mode: 0o700 });
      const existing = listSegments(options.dir);
      for (const s of existing) {
        const seg: Segment = { file: s.file, firstSeq: s.firstSeq, lastSeq: lastSeqOf(s.file), bytes: statSync(s.file).size, events: 0 };
        if (s.firstSeq === 0) this.head = seg;
        else this.tail.push(seg);
        lastSeq = Math.max(lastSeq, seg.lastSeq);
      }
      this.gap = readGap(options.dir);
      const last = this.tail.at(-1) ?? this.head;
      if (last) {
        this.current = last;
        this.fd = openSync(last.file, "a", 0o600);
      }
    } catch (err) {
      this.fail(err as Error);
    }
    this.lastSeq = lastSeq;
  }

  get broken(): boolean {
    return this.failed;
  }

  /** Appends one notification (`line` is its JSON, without newline; bytes: UTF-8). */
  append(seq: number, line: string | Buffer): void {
    if (this.failed || this.closed) return;
    try {
      if (!this.current || this.current.bytes >= this.segmentBytes) this.rotate(seq);
      const data = typeof line === "string" ? Buffer.from(`${line}\n`) : Buffer.concat([line, NEWLINE]);
      writeSync(this.fd!, data);
      const seg = this.current!;
      seg.bytes += data.length;
      seg.lastSeq = seq;
      seg.events++;
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Releases the descriptor; the files stay. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already gone
      }
      this.fd = undefined;
    }
  }

  private rotate(seq: number): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const isHead = !this.head;
    const file = join(this.options.dir, isHead ? HEAD_FILE : `events.${seq}.jsonl`);
    this.fd = openSync(file, "a", 0o600);
    const seg: Segment = { file, firstSeq: isHead ? 0 : seq, lastSeq: seq - 1, bytes: 0, events: 0 };
    if (isHead) this.head = seg;
    else this.tail.push(seg);
    this.current = seg;
    while (this.tail.length > TAIL_SEGMENTS) this.drop(this.tail.shift()!);
  }

  /** Deletes the oldest tail segment; the gap it leaves is recorded before the file goes. */
  private drop(seg: Segment): void {
    const first = seg.firstSeq;
    this.gap = this.gap
      ? { from_seq: Math.min(this.gap.from_seq, first), to_seq: Math.max(this.gap.to_seq, seg.lastSeq), events: this.gap.events + seg.events, bytes: this.gap.bytes + seg.bytes }
      : { from_seq: first, to_seq: seg.lastSeq, events: seg.events, bytes: seg.bytes };
    writeFileSync(join(this.options.dir, GAP_FILE), JSON.stringify(this.gap), { mode: 0o600 });
    unlinkSync(seg.file);
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.close();
    (this.options.logger ?? silentLogger).warn({ err: err.message, dir: this.options.dir }, "cannot write the replay file; only the in-memory replay buffer is kept");
  }
}

/** One item of a replay: a notification, or a range of notifications that is no longer kept. */
export type ReplayItem =
  | { kind: "event"; seq: number; method: string; params: Record<string, unknown> }
  | { kind: "gap"; fromSeq: number; toSeq: number; missedEvents: number; missedBytes?: number };

const READ_CHUNK = 256 * 1024;

/**
 * The complete lines of a file from byte `position` on, read in fixed-size chunks; each comes with
 * the offset just after it. A line still being written (no newline yet) is left for the next read.
 */
async function* readLines(file: string, position: number): AsyncGenerator<{ line: Buffer; end: number }> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // rotated away since it was listed
    throw err;
  }
  try {
    const buf = Buffer.alloc(READ_CHUNK);
    let carry: Buffer[] = [];
    for (let offset = position; ; ) {
      const { bytesRead } = await handle.read(buf, 0, READ_CHUNK, offset);
      if (bytesRead === 0) return;
      let start = 0;
      for (let nl = buf.indexOf(10); nl !== -1 && nl < bytesRead; nl = buf.indexOf(10, start)) {
        const piece = buf.subarray(start, nl);
        const line = carry.length > 0 ? Buffer.concat([...carry, piece]) : Buffer.from(piece);
        carry = [];
        start = nl + 1;
        yield { line, end: offset + start };
      }
      if (start < bytesRead) carry.push(Buffer.from(buf.subarray(start, bytesRead)));
      offset += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Reads a replay file from disk, one line at a time (memory stays at one chunk and one line however
 * large the file), yielding the notifications after `sinceSeq` in order, and a `gap` item wherever
 * notifications are missing (dropped by the cap). What is written while it reads is read too: it
 * ends after a pass over the folder that found nothing new.
 */
export async function* readReplay(dir: string, sinceSeq = 0): AsyncGenerator<ReplayItem> {
  let cursor = sinceSeq;
  const consumed = new Map<string, number>();
  for (let progressed = true; progressed; ) {
    progressed = false;
    const segments = listSegments(dir);
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      // A whole segment before the cursor is skipped without reading it.
      const next = segments[i + 1];
      if (next && next.firstSeq <= cursor + 1 && !consumed.has(seg.file)) continue;
      for await (const { line, end } of readLines(seg.file, consumed.get(seg.file) ?? 0)) {
        consumed.set(seg.file, end);
        let ev: { seq: number; method: string; params: Record<string, unknown> };
        try {
          ev = JSON.parse(line.toString("utf8"));
        } catch {
          continue; // a line cut by a crash
        }
        if (typeof ev.seq !== "number" || ev.seq <= cursor) continue;
        if (ev.seq > cursor + 1) {
          const gap = readGap(dir);
          const missed: ReplayItem = { kind: "gap", fromSeq: cursor + 1, toSeq: ev.seq - 1, missedEvents: ev.seq - 1 - cursor };
          if (gap && gap.from_seq >= cursor + 1 && gap.to_seq <= ev.seq - 1) missed.missedBytes = gap.bytes;
          yield missed;
        }
        cursor = ev.seq;
        progressed = true;
        yield { kind: "event", seq: ev.seq, method: ev.method, params: ev.params };
      }
    }
  }
}

/** Whether a folder holds a replay file. */
export function hasReplay(dir: string): boolean {
  return listSegments(dir).length > 0;
}
