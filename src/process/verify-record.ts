import { sep } from "node:path";
import type { GroupRecord, JournalOwner } from "./group-journal.js";
import { SPAWN_ID_ENV } from "./group-journal.js";
import { processTable, type ProcessTable } from "./process-table.js";

/** What a crash-reaper may do about one record, and why. */
export type Verdict =
  | { action: "kill"; how: "leader" | "marked-members" }
  | { action: "none"; why: string }
  | { action: "refuse"; why: string };

/** Whether the process that wrote a journal is still running (same pid, same start, same boot). */
export function ownerAlive(owner: JournalOwner, table: ProcessTable = processTable()): boolean {
  if (owner.startTime === undefined || owner.bootId === undefined || owner.bootId !== table.bootId() || owner.table !== table.kind) return false;
  return table.startTime(owner.pid) === owner.startTime;
}

/**
 * Decides whether the process group a record names is still the one we started, before anything
 * is killed: a stale record must never kill someone else's processes.
 *
 * - Another boot: nothing of it can be running; its pids mean nothing now.
 * - The leader is alive: it must have the recorded start time (else the pid was handed out again).
 * - The leader is gone but the group has members (leader died, children live on): every member
 *   must carry the record's id in its environment (CC_EXECUTOR_SPAWN_ID, set on each spawn and
 *   inherited by descendants). A group id can be reused once our group has died, so members
 *   without the mark belong to someone else.
 */
export function verifyRecord(record: GroupRecord, owner: JournalOwner, table: ProcessTable = processTable()): Verdict {
  const bootId = table.bootId();
  if (owner.bootId === undefined || bootId === undefined) return { action: "refuse", why: "the boot it was recorded on is unknown" };
  if (owner.bootId !== bootId) return { action: "none", why: "recorded before the last reboot" };
  if (owner.table !== table.kind) return { action: "refuse", why: `start times were measured with ${owner.table}, not ${table.kind}` };
  if (!Number.isInteger(record.pgid) || record.pgid <= 1) return { action: "refuse", why: `invalid process group ${record.pgid}` };

  const leaderStart = table.startTime(record.pgid);
  if (leaderStart !== undefined) {
    if (record.leaderStartTime !== undefined && leaderStart === record.leaderStartTime) return { action: "kill", how: "leader" };
    if (record.leaderStartTime !== undefined) return { action: "refuse", why: "its pid now belongs to another process (different start time)" };
  }
  const members = table.groupMembers(record.pgid);
  if (members.length === 0) return { action: "none", why: "the group is gone" };
  const mark = `${SPAWN_ID_ENV}=${record.id}`;
  const unmarked = members.filter((pid) => !(table.environment(pid) ?? []).includes(mark));
  if (record.id && unmarked.length === 0) return { action: "kill", how: "marked-members" };
  return { action: "refuse", why: `${unmarked.length} of its ${members.length} live member(s) do not carry its ${SPAWN_ID_ENV} (the group id was reused)` };
}

/**
 * Whether a cgroup path from a record is one of ours: a directory
 * `<...>/cc-executor/<scope>/<pid>-<start>/<name>` on the cgroup v2 mount. A record naming
 * anything else is never acted on.
 */
export function isOurCgroupPath(path: string, mountPoint: string): boolean {
  if (!path.startsWith(mountPoint + sep) || path.split(sep).includes("..")) return false;
  const parts = path.split(sep);
  return (
    parts.length >= 4 &&
    parts.at(-4) === "cc-executor" &&
    /^[\w-]+$/.test(parts.at(-3)!) &&
    /^\d+-(\d+|unknown)$/.test(parts.at(-2)!) &&
    /^[\w.-]+$/.test(parts.at(-1)!)
  );
}
