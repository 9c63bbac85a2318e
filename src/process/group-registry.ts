import { readFileSync, statSync, unlinkSync } from "node:fs";
import { uptime } from "node:os";
import { join } from "node:path";
import { silentLogger, type Logger } from "../logger.js";
import { cgroupScope, cgroupSupport, ExecutionCgroup, findCgroup2Mount, leftoverOwnerDirs, removeCgroupDir, type CgroupLimits, type CgroupSupport } from "./cgroup.js";
import { GroupJournal, JOURNAL_SUFFIX, readJournal, type GroupRecord, type JournalOwner } from "./group-journal.js";
import { terminateGroup } from "./process-group.js";
import { processTable } from "./process-table.js";
import { isOurCgroupPath, ownerAlive, verifyRecord } from "./verify-record.js";
import { entryNames } from "../dir-entries.js";

export type { GroupRecord } from "./group-journal.js";

export interface ReapReport {
  /** Process groups killed (verified as ours). */
  reaped: number[];
  /** Execution cgroups killed and removed. */
  cgroups: string[];
  /** Groups still owned by another live process. */
  skipped: number[];
  /** Records whose group was already gone (or from another boot). */
  stale: number[];
  /** Records naming a live group that could not be verified as ours: left alone. */
  refused: Array<{ pgid: number; why: string }>;
}

/** How executions are contained, as doctor and /health report it. */
export type ContainmentInfo =
  | { kind: "cgroup"; dir: string; limits: CgroupLimits; limits_unavailable?: string; mount_point: string; favordynmods: boolean }
  | { kind: "process-group"; reason: string };

export interface GroupRegistryOptions {
  /** "auto" (default): each execution in its own cgroup where cgroup v2 is writable; "process-group": never. */
  containment?: "auto" | "process-group";
  /** Per-execution cgroup limits (pids.max, memory.max), applied where cgroups are used. */
  limits?: CgroupLimits;
}

/** An execution's record, minus what the registry fills in. */
export type NewRecord = Omit<GroupRecord, "startedAt" | "command"> & { command: string };

/**
 * The live executions of this process, written to a journal in the state directory so that a later
 * start can reap what a crash left running (see GroupJournal), and how executions are contained
 * (their own cgroup, or their process group). Writing is best effort: a read-only state directory
 * must not stop executions, so failures are logged, not thrown.
 */
export class GroupRegistry {
  readonly journal: GroupJournal;
  private readonly logger: Logger;
  private support: CgroupSupport | undefined;

  constructor(
    private readonly dir: string,
    logger: Logger = silentLogger,
    private readonly options: GroupRegistryOptions = {},
  ) {
    this.logger = logger;
    const table = processTable();
    const owner: JournalOwner = { pid: process.pid, startTime: table.startTime(process.pid), bootId: table.bootId(), table: table.kind };
    this.journal = new GroupJournal(dir, owner, logger);
  }

  /** cgroup support for this registry's executions (found once, on first use); undefined when process groups are used. */
  cgroups(): Extract<CgroupSupport, { available: true }> | undefined {
    if (this.options.containment === "process-group") return undefined;
    this.support ??= cgroupSupport(this.options.limits ?? {}, cgroupScope(this.dir));
    if (this.support.available && this.support.limitsUnavailable && !this.limitsWarned) {
      this.limitsWarned = true;
      this.logger.warn({ reason: this.support.limitsUnavailable }, "per-execution cgroup limits are configured but cannot be applied");
    }
    return this.support.available ? this.support : undefined;
  }
  private limitsWarned = false;

  /** What contains executions here (cgroup or process group) and why. */
  containment(): ContainmentInfo {
    const cg = this.cgroups();
    if (cg) return { kind: "cgroup", dir: cg.scopeDir, limits: cg.limits, ...(cg.limitsUnavailable ? { limits_unavailable: cg.limitsUnavailable } : {}), mount_point: cg.mountPoint, favordynmods: cg.favordynmods };
    const reason = this.options.containment === "process-group" ? "process groups chosen by configuration (CC_EXECUTOR_CONTAINMENT=process-group)" : (this.support as { reason: string }).reason;
    return { kind: "process-group", reason };
  }

  /** A fresh id for an execution's record (and its CC_EXECUTOR_SPAWN_ID). */
  nextId(): string {
    return this.journal.nextId();
  }

  add(record: NewRecord): void {
    this.journal.add({ ...record, command: record.command.slice(0, 500), startedAt: Date.now() });
  }

  remove(id: string): void {
    this.journal.remove(id);
  }

  /** At shutdown, after the executions have ended: the journal is written out (and removed when nothing is live). */
  close(): Promise<void> {
    return this.journal.close();
  }

  /** Records of this process's live executions. */
  list(): GroupRecord[] {
    return this.journal.records();
  }

  /**
   * Kills what processes that are no longer running left behind on this state directory, after
   * verifying each record (verifyRecord): leftover cgroups of dead owners are killed and removed;
   * a recorded group is killed only when it is provably the one that was started. Journals of
   * live owners (another server on the same state directory) are left alone. With `dryRun` the
   * report says what would be done (`reaped`, `cgroups`: would be killed) and nothing is touched.
   */
  async reapLeftovers(graceMs: number, options: { dryRun?: boolean } = {}): Promise<ReapReport> {
    const dryRun = options.dryRun ?? false;
    const report: ReapReport = { reaped: [], cgroups: [], skipped: [], stale: [], refused: [] };
    const cg = this.cgroups();
    if (cg) await this.reapCgroups(cg.scopeDir, graceMs, report, dryRun);
    for (const { file, owner, records } of this.journals()) {
      const self = owner.pid === process.pid && owner.startTime === this.journal.owner.startTime;
      if (self || ownerAlive(owner)) {
        if (!self) report.skipped.push(...records.map((r) => r.pgid));
        continue;
      }
      for (const rec of records) await this.reapRecord(rec, owner, graceMs, report, dryRun);
      if (!dryRun) removeFile(file);
    }
    if (dryRun) return report;
    if (report.reaped.length || report.cgroups.length) this.logger.warn({ groups: report.reaped, cgroups: report.cgroups }, "reaped what a previous process left running");
    return report;
  }

  private async reapRecord(rec: GroupRecord, owner: JournalOwner, graceMs: number, report: ReapReport, dryRun: boolean): Promise<void> {
    const mount = rec.cgroup ? cgroup2MountPoint() : undefined;
    if (rec.cgroup && mount && isOurCgroupPath(rec.cgroup, mount) && owner.bootId === processTable().bootId()) {
      const leftover = ExecutionCgroup.at(rec.cgroup);
      if (leftover.exists() && dryRun) report.cgroups.push(rec.cgroup);
      else if (leftover.exists()) {
        await leftover.terminate(graceMs);
        await leftover.remove();
        report.cgroups.push(rec.cgroup);
      }
    }
    const verdict = verifyRecord(rec, owner);
    if (dryRun) {
      if (verdict.action === "kill") report.reaped.push(rec.pgid);
      else if (verdict.action === "refuse") report.refused.push({ pgid: rec.pgid, why: verdict.why });
      else report.stale.push(rec.pgid);
    } else if (verdict.action === "kill") {
      await terminateGroup(rec.pgid, graceMs);
      report.reaped.push(rec.pgid);
      this.logger.warn({ pgid: rec.pgid, command: rec.command, verified_by: verdict.how }, "reaped a process group left behind by a previous process");
    } else if (verdict.action === "refuse") {
      report.refused.push({ pgid: rec.pgid, why: verdict.why });
      this.logger.warn({ pgid: rec.pgid, command: rec.command, why: verdict.why }, "left a recorded process group alone: it cannot be verified as ours");
    } else report.stale.push(rec.pgid);
  }

  /**
   * Kills and removes executions' cgroups whose owner process (on this state directory: one cgroup
   * scope per state directory) is gone, recorded or not: the kernel is the record.
   */
  private async reapCgroups(scopeDir: string, graceMs: number, report: ReapReport, dryRun: boolean): Promise<void> {
    const table = processTable();
    const alive = (pid: number, start: string) => (start === "unknown" ? table.startTime(pid) !== undefined : String(table.startTime(pid)) === start);
    for (const { ownerDir, cgroups } of leftoverOwnerDirs(scopeDir, alive)) {
      for (const dir of cgroups) {
        const leftover = ExecutionCgroup.at(dir);
        if (dryRun) {
          if (leftover.populated()) report.cgroups.push(dir);
          continue;
        }
        if (leftover.populated()) {
          await leftover.terminate(graceMs);
          report.cgroups.push(dir);
        }
        await leftover.remove();
      }
      if (!dryRun) await removeCgroupDir(ownerDir, 500);
    }
  }

  /** Every journal in the directory, and records of earlier versions (one `<pgid>.json` file each). */
  private journals(): Array<{ file: string; owner: JournalOwner; records: GroupRecord[] }> {
    const out: Array<{ file: string; owner: JournalOwner; records: GroupRecord[] }> = [];
    for (const name of entryNames(this.dir)) {
      const file = join(this.dir, name);
      if (name.endsWith(JOURNAL_SUFFIX)) {
        const journal = readJournal(file);
        if (journal) out.push({ file, ...journal });
        else if (name !== this.journal.file.slice(this.dir.length + 1)) removeFile(file);
      } else if (/^\d+\.json$/.test(name)) {
        const legacy = readLegacyRecord(file);
        if (legacy) out.push({ file, ...legacy });
        else removeFile(file);
      }
    }
    return out;
  }
}

function cgroup2MountPoint(): string | undefined {
  try {
    return findCgroup2Mount(readFileSync("/proc/self/mountinfo", "utf8"))?.mountPoint;
  } catch {
    return undefined;
  }
}

/**
 * A record file of an earlier version: `{pgid, leaderStartTime, ownerPid, ownerStartTime}`. It has
 * no boot id; a file written since the machine booted is of this boot.
 */
function readLegacyRecord(file: string): { owner: JournalOwner; records: GroupRecord[] } | undefined {
  try {
    const rec = JSON.parse(readFileSync(file, "utf8")) as { pgid: number; leaderStartTime?: number; command?: string; ownerPid: number; ownerStartTime?: number; startedAt?: number };
    if (!Number.isInteger(rec.pgid) || !Number.isInteger(rec.ownerPid)) return undefined;
    const table = processTable();
    const thisBoot = statSync(file).mtimeMs > Date.now() - uptime() * 1000;
    const owner: JournalOwner = { pid: rec.ownerPid, startTime: rec.ownerStartTime, bootId: thisBoot ? table.bootId() : "an earlier boot", table: "procfs" };
    return { owner, records: [{ id: "", pgid: rec.pgid, leaderStartTime: rec.leaderStartTime, command: String(rec.command ?? ""), startedAt: rec.startedAt ?? 0 }] };
  } catch {
    return undefined;
  }
}

function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // gone already
  }
}
