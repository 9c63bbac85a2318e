import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { statePaths } from "../paths.js";
import { readExecutionFile, writerAlive, type ExecutionFile, type KeptKind } from "./execution-file.js";
import { executionDir, RunFiles } from "./layout.js";
import { entryNames } from "../dir-entries.js";

/** What an id names in the state directory. */
export type RunFolderTarget =
  | { type: "execution"; id: string; dir: string; kind: KeptKind; meta?: ExecutionFile }
  | { type: "task-list"; runId: string; dir: string };

export class RunFolderNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunFolderNotFoundError";
  }
}

/** Shortest id prefix accepted (as `history show`). */
export const MIN_PREFIX = 4;

/**
 * An execution id, a task-list run id, or the first characters of one (at least 4, as
 * `history list` shows them), to its run folder.
 */
export function findRunFolder(home: string, id: string): RunFolderTarget {
  const runsDir = statePaths(home).runsDir;
  const exact = /^[\w.-]+$/.test(id) && !id.startsWith(".") && existsSync(join(runsDir, id)) ? id : undefined;
  let name = exact;
  if (!name && id.length >= MIN_PREFIX) {
    const names = entryNames(runsDir).filter((n) => n.startsWith(id)); // none: no runs yet
    if (names.length > 1) throw new RunFolderNotFoundError(`"${id}" matches ${names.length} runs (${names.slice(0, 3).join(", ")}${names.length > 3 ? ", …" : ""}); give more characters`);
    name = names[0];
  }
  if (!name) throw new RunFolderNotFoundError(`no execution or task-list run ${id} in ${runsDir} (ids: cc-executor history list, cc-executor tasks list)`);
  const dir = join(runsDir, name);
  if (existsSync(join(dir, RunFiles.checkpoint))) return { type: "task-list", runId: name, dir };
  const meta = readExecutionFile(join(dir, RunFiles.execution));
  const kind: KeptKind = meta?.kind ?? (existsSync(join(dir, RunFiles.transcript)) ? "claude" : "command");
  return { type: "execution", id: name, dir, kind, ...(meta ? { meta } : {}) };
}

/** The kept output of a command: the older segment (if any) then the current one. */
export function readCommandOutput(dir: string): { data: Buffer; droppedBytes: number } {
  const meta = readExecutionFile(join(dir, RunFiles.execution));
  const parts = [RunFiles.outputPrevious, RunFiles.output].map((f) => readIfExists(join(dir, f)));
  return { data: Buffer.concat(parts), droppedBytes: meta?.dropped_bytes ?? 0 };
}

export function readIfExists(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
}

/**
 * Reads what is appended to a file, following it when the writer replaces it with a new one
 * (rotation): the old file is read to its end first, then the new one from its start.
 */
export class FileTail {
  private fd: number | undefined;
  private ino: number | undefined;
  private offset = 0;

  constructor(private readonly path: string) {}

  read(): Buffer {
    const out: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      if (this.fd === undefined && !this.open()) break;
      out.push(this.drain());
      let current: number | undefined;
      try {
        current = statSync(this.path).ino;
      } catch {
        current = undefined;
      }
      if (current === undefined || current === this.ino) break;
      out.push(this.drain()); // the rest of the replaced file, then switch
      this.close();
    }
    return Buffer.concat(out);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.offset = 0;
  }

  private open(): boolean {
    try {
      this.fd = openSync(this.path, "r");
      this.ino = fstatSync(this.fd).ino;
      this.offset = 0;
      return true;
    } catch {
      return false;
    }
  }

  private drain(): Buffer {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(this.fd!, buf, 0, buf.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks);
  }
}

/** Whether an execution is over: it recorded its end, its writer is gone, or (no record) claude wrote its result. */
export function executionEnded(dir: string): { ended: boolean; meta?: ExecutionFile; writerGone?: boolean } {
  const meta = readExecutionFile(join(dir, RunFiles.execution));
  if (meta?.status) return { ended: true, meta };
  if (meta && !writerAlive(meta.writer)) return { ended: true, meta, writerGone: true };
  if (!meta) return { ended: existsSync(join(dir, RunFiles.result)) || !existsSync(dir) };
  return { ended: false, meta };
}

export interface FollowOptions {
  /** Between two looks at the files (default 200 ms). */
  pollMs?: number;
  /** Stops following (the promise then resolves with what is known). */
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Streams an execution's kept output (a command's output.log, a claude task's transcript.jsonl)
 * from its start, live, until the execution ends; resolves with its execution.json (if any).
 */
export async function followExecution(dir: string, kind: KeptKind, onData: (data: Buffer) => void, options: FollowOptions = {}): Promise<{ meta?: ExecutionFile; writerGone?: boolean }> {
  const pollMs = options.pollMs ?? 200;
  if (kind === "command") {
    const older = readIfExists(join(dir, RunFiles.outputPrevious));
    if (older.length) onData(older);
  }
  const tail = new FileTail(join(dir, kind === "claude" ? RunFiles.transcript : RunFiles.output));
  try {
    for (;;) {
      const state = executionEnded(dir); // looked at before reading: what was written before the end is read below
      const data = tail.read();
      if (data.length) onData(data);
      if (state.ended || options.signal?.aborted) {
        // A writer may flush its last bytes just after recording the end: read until it is quiet.
        for (let quiet = 0; quiet < 2 && !options.signal?.aborted; ) {
          await sleep(50, options.signal);
          const more = tail.read();
          if (more.length) onData(more);
          else quiet++;
        }
        return { meta: state.meta, writerGone: state.writerGone };
      }
      await sleep(pollMs, options.signal);
    }
  } finally {
    tail.close();
  }
}
