import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger, type Logger } from "../logger.js";
import { groupExists, processStartTime, terminateGroup } from "./process-group.js";

/** What we write down about a live process group so that a later start can reap it after a crash. */
export interface GroupRecord {
  pgid: number;
  /** Kernel start time of the group leader: tells a recycled pid from ours. */
  leaderStartTime?: number;
  command: string;
  ownerPid: number;
  ownerStartTime?: number;
  startedAt: number;
}

export interface ReapReport {
  reaped: number[];
  /** Groups still owned by another live server process. */
  skipped: number[];
  /** Records whose group was already gone (or whose pid was recycled). */
  stale: number[];
}

/**
 * One small JSON file per live group in the state directory. Writing it is best effort:
 * a read-only state directory must not stop executions, so failures are logged, not thrown.
 */
export class GroupRegistry {
  private warned = false;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger = silentLogger,
  ) {}

  add(pgid: number, command: string): void {
    const record: GroupRecord = {
      pgid,
      leaderStartTime: processStartTime(pgid),
      command: command.slice(0, 500),
      ownerPid: process.pid,
      ownerStartTime: processStartTime(process.pid),
      startedAt: Date.now(),
    };
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileSync(this.file(pgid), JSON.stringify(record));
    } catch (err) {
      if (!this.warned) {
        this.warned = true;
        this.logger.warn({ err: (err as Error).message, dir: this.dir }, "cannot record process groups; leftovers of a crash will not be reaped");
      }
    }
  }

  remove(pgid: number): void {
    try {
      unlinkSync(this.file(pgid));
    } catch {
      // already gone or never written
    }
  }

  list(): GroupRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const records: GroupRecord[] = [];
    for (const name of names) {
      if (!name.endsWith(".json")) continue;
      try {
        records.push(JSON.parse(readFileSync(join(this.dir, name), "utf8")) as GroupRecord);
      } catch {
        this.removeFile(name);
      }
    }
    return records;
  }

  /**
   * Kills groups left behind by a server that is no longer running. A group whose owner is still
   * alive (another server on the same state directory) is left alone.
   */
  async reapLeftovers(graceMs: number): Promise<ReapReport> {
    const report: ReapReport = { reaped: [], skipped: [], stale: [] };
    for (const rec of this.list()) {
      if (rec.ownerPid === process.pid) continue;
      const ownerAlive = rec.ownerStartTime !== undefined && processStartTime(rec.ownerPid) === rec.ownerStartTime;
      if (ownerAlive) {
        report.skipped.push(rec.pgid);
        continue;
      }
      const leaderStart = processStartTime(rec.pgid);
      const leaderIsOurs = leaderStart !== undefined && leaderStart === rec.leaderStartTime;
      // A pid cannot be handed out again while a group of that id still has members, so a group
      // that exists without its leader is still ours; a live leader with another start time is not.
      const recycled = leaderStart !== undefined && !leaderIsOurs;
      if (!recycled && groupExists(rec.pgid)) {
        await terminateGroup(rec.pgid, graceMs);
        report.reaped.push(rec.pgid);
        this.logger.warn({ pgid: rec.pgid, command: rec.command }, "reaped a process group left behind by a previous server");
      } else {
        report.stale.push(rec.pgid);
      }
      this.remove(rec.pgid);
    }
    return report;
  }

  private file(pgid: number): string {
    return join(this.dir, `${pgid}.json`);
  }

  private removeFile(name: string): void {
    try {
      unlinkSync(join(this.dir, name));
    } catch {
      // ignore
    }
  }
}
