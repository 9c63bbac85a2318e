import { randomBytes } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { mkdir, open, rename, unlink, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { silentLogger, type Logger } from "../logger.js";
import { processTable } from "./process-table.js";

/** What we write down about a live execution so that a later start can reap it after a crash. */
export interface GroupRecord {
  /** Unique per spawn; the process and its descendants also carry it as CC_EXECUTOR_SPAWN_ID. */
  id: string;
  pgid: number;
  /** The group leader's start time (see ProcessTable.startTime): tells a recycled pid from ours. */
  leaderStartTime?: number;
  /** The execution's own cgroup directory, when it has one. */
  cgroup?: string;
  command: string;
  startedAt: number;
}

/** Who wrote a journal: the process (pid, start time) on one boot, and which process table measured the times. */
export interface JournalOwner {
  pid: number;
  startTime?: number;
  bootId?: string;
  table: "procfs" | "ps";
}

/** The environment variable that marks every process of an execution with its record's id. */
export const SPAWN_ID_ENV = "CC_EXECUTOR_SPAWN_ID";

export const JOURNAL_SUFFIX = ".journal";

/** Lines appended before the journal is rewritten with only the live records (when few are live). */
const COMPACT_AFTER_LINES = 2000;

type Line = { owner: JournalOwner } | { add: GroupRecord } | { del: string };

const openJournals = new Set<{ removeIfEmpty(): void }>();
process.once("exit", () => openJournals.forEach((j) => j.removeIfEmpty()));

/**
 * One append-only file per process (`<pid>-<random>.journal` in the groups directory): a header
 * naming the owner, then one line per execution started (`add`) and ended (`del`). Nothing is
 * written synchronously: lines are queued and appended by one asynchronous write at a time, so a
 * burst of executions costs one write, and an execution's record reaches the kernel (which is all
 * a `kill -9` of this process needs) within one write of its start. Failed writes are logged once;
 * the next successful one rewrites the whole live set, so nothing stays missing.
 */
export class GroupJournal {
  readonly file: string;
  private readonly live = new Map<string, GroupRecord>();
  private pending: Line[] = [];
  private fh: FileHandle | undefined;
  private lines = 0;
  private broken = false;
  private warned = false;
  private writing: Promise<void> | undefined;
  private seq = 0;
  private readonly token = randomBytes(4).toString("hex");

  constructor(
    private readonly dir: string,
    readonly owner: JournalOwner,
    private readonly logger: Logger = silentLogger,
  ) {
    this.file = join(dir, `${owner.pid}-${this.token}${JOURNAL_SUFFIX}`);
    openJournals.add(this);
  }

  /** At exit: a journal with nothing live left is of no use to anyone, so it is not left behind. */
  removeIfEmpty(): void {
    if (this.live.size > 0 || !this.fh) return;
    try {
      unlinkSync(this.file);
    } catch {
      // removed already
    }
  }

  /** A new record id, unique across processes and restarts. */
  nextId(): string {
    return `${this.token}.${++this.seq}`;
  }

  /** Records a started execution; its leader's start time is read here, off the caller's hot path, when not given. */
  add(record: GroupRecord): void {
    this.live.set(record.id, record);
    this.enqueue({ add: record });
  }

  remove(id: string): void {
    if (!this.live.delete(id)) return;
    this.enqueue({ del: id });
  }

  /** The records of executions still running. */
  records(): GroupRecord[] {
    return [...this.live.values()];
  }

  /** Resolves once everything recorded so far has been handed to the kernel (or failed to be). */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /**
   * At shutdown, once the executions have ended: writes what is queued and, when nothing is live,
   * removes the file (a later record starts a new one).
   */
  async close(): Promise<void> {
    await this.flushed();
    if (this.live.size > 0 || !this.fh) return;
    const fh = this.fh;
    this.fh = undefined;
    await fh.close().catch(() => undefined);
    await unlink(this.file).catch(() => undefined);
  }

  private enqueue(line: Line): void {
    this.pending.push(line);
    // On the next turn of the event loop: the caller (a spawn about to be announced) goes first.
    this.writing ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .finally(() => (this.writing = undefined));
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      await this.fillStartTimes(batch);
      try {
        if (!this.fh || this.broken || (this.lines > COMPACT_AFTER_LINES && this.live.size * 4 < this.lines)) await this.rewrite();
        else {
          await this.fh.appendFile(batch.map((l) => JSON.stringify(l) + "\n").join(""));
          this.lines += batch.length;
        }
        this.broken = false;
      } catch (err) {
        this.broken = true;
        if (!this.warned) {
          this.warned = true;
          this.logger.warn({ err: (err as Error).message, file: this.file }, "cannot record process groups; leftovers of a crash will not be reaped until this works again");
        }
      }
    }
  }

  /** Start times of leaders not known yet (read here, not in the caller's hot path). */
  private async fillStartTimes(batch: Line[]): Promise<void> {
    await Promise.all(
      batch.map(async (line) => {
        if ("add" in line && line.add.leaderStartTime === undefined) {
          const t = await processTable().startTimeAsync(line.add.pgid);
          if (t !== undefined) line.add.leaderStartTime = t;
        }
      }),
    );
  }

  /** Writes the header and the live records to a new file and puts it in place (atomic rename). */
  private async rewrite(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const lines: Line[] = [{ owner: this.owner }, ...[...this.live.values()].map((r) => ({ add: r }))];
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, lines.map((l) => JSON.stringify(l) + "\n").join(""), { mode: 0o600 });
    await rename(tmp, this.file);
    const old = this.fh;
    this.fh = await open(this.file, "a");
    this.lines = lines.length;
    await old?.close().catch(() => undefined);
  }
}

/** Reads a journal: its owner and the records it still lists as live. Undefined when unreadable or without a header. */
export function readJournal(file: string): { owner: JournalOwner; records: GroupRecord[] } | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  let owner: JournalOwner | undefined;
  const live = new Map<string, GroupRecord>();
  for (const raw of text.split("\n")) {
    if (!raw) continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      continue; // a line cut short by a crash
    }
    if ("owner" in line) owner = line.owner;
    else if ("add" in line && line.add && Number.isInteger(line.add.pgid)) live.set(String(line.add.id), line.add);
    else if ("del" in line) live.delete(String(line.del));
  }
  return owner && Number.isInteger(owner.pid) ? { owner, records: [...live.values()] } : undefined;
}
