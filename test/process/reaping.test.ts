import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir, uptime } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GroupRegistry, procfsTable, psTable, useProcessTable, type ProcessTable } from "../../src/process/index.js";
import { crash, startGroupOwner } from "../helpers/group-owner.js";
import { liveGroupMembers, liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";

const cleanups: Array<() => void> = [];
const startOwner = (dir: string, containment: "auto" | "process-group", command: string) => startGroupOwner(dir, containment, command, cleanups);
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** A process that existed and is gone now: its pid and start time, as a dead owner's. */
async function deadProcess(table: ProcessTable): Promise<{ pid: number; startTime: number }> {
  const child = spawn("sleep", ["0.2"], { stdio: "ignore" });
  await new Promise((r) => child.once("spawn", r));
  const startTime = table.startTime(child.pid!)!;
  await new Promise((r) => child.once("exit", r));
  return { pid: child.pid!, startTime };
}

/** Another program's group whose leader has exited: `setsid sh -c 'sleep … & exit'` leaves the sleep in group <sh's pid>. */
async function foreignLeaderlessGroup(s: string): Promise<number> {
  const sh = spawn("setsid", ["sh", "-c", `sleep ${s} & exit 0`], { stdio: "ignore" });
  await new Promise((r) => sh.once("exit", r));
  await waitUntil(() => liveSleeps(s).length === 1, 5000, "the foreign group's member");
  const member = liveSleeps(s)[0]!;
  cleanups.push(() => killAll(liveSleeps(s).map((p) => p.pid)));
  expect(member.pgid).toBe(sh.pid); // the group outlives its leader
  return member.pgid;
}

/** A live process leading its own group (another program's, as far as we know). */
async function foreignLeader(s: string): Promise<number> {
  const child = spawn("sleep", [s], { detached: true, stdio: "ignore" });
  child.unref();
  await new Promise((r) => child.once("spawn", r));
  cleanups.push(() => killAll([child.pid!]));
  return child.pid!;
}

type Format = "journal" | "legacy record";

/**
 * Writes a stale record the way a dead owner would have left it: a journal (this version) or a
 * `<pgid>.json` file (the earlier format, which the reaper still reads). `previousBoot` dates it
 * before the machine's last boot (journal: another boot id; legacy: the file's mtime).
 */
function writeStaleRecord(dir: string, format: Format, owner: { pid: number; startTime: number }, rec: { pgid: number; leaderStartTime?: number }, options: { previousBoot?: boolean; table?: ProcessTable } = {}): void {
  const table = options.table ?? procfsTable;
  if (format === "journal") {
    const header = { owner: { pid: owner.pid, startTime: owner.startTime, bootId: options.previousBoot ? "00000000-0000-0000-0000-000000000000" : table.bootId(), table: table.kind } };
    const add = { add: { id: "5ca1ab1e.1", pgid: rec.pgid, leaderStartTime: rec.leaderStartTime, command: "stale", startedAt: Date.now() - 60_000 } };
    writeFileSync(join(dir, `${owner.pid}-5ca1ab1e.journal`), `${JSON.stringify(header)}\n${JSON.stringify(add)}\n`);
  } else {
    const file = join(dir, `${rec.pgid}.json`);
    writeFileSync(file, JSON.stringify({ pgid: rec.pgid, leaderStartTime: rec.leaderStartTime, command: "stale", ownerPid: owner.pid, ownerStartTime: owner.startTime, startedAt: Date.now() - 60_000 }));
    if (options.previousBoot) {
      const beforeBoot = (Date.now() - uptime() * 1000 - 3600_000) / 1000;
      utimesSync(file, beforeBoot, beforeBoot);
    }
  }
}

function newDir(): string {
  return mkdtempSync(join(tmpdir(), "cce-reap-"));
}

describe("crash reaping verifies each record before it kills anything", () => {
  for (const format of ["journal", "legacy record"] as const) {
    it(`${format}: a stale record naming another program's group whose leader has exited kills nothing`, async () => {
      const dir = newDir();
      const s = uniqueSleep();
      const pgid = await foreignLeaderlessGroup(s);
      writeStaleRecord(dir, format, await deadProcess(procfsTable), { pgid, leaderStartTime: 1 });
      const report = await new GroupRegistry(dir, undefined, { containment: "process-group" }).reapLeftovers(200);
      expect(liveSleeps(s)).toHaveLength(1); // still running: not ours
      expect(report.reaped).toEqual([]);
      expect(report.refused).toEqual([{ pgid, why: expect.stringMatching(/CC_EXECUTOR_SPAWN_ID/) }]);
    });

    it(`${format}: a record from before the last reboot kills nothing, even when a live group matches its pid and start time`, async () => {
      const dir = newDir();
      const s = uniqueSleep();
      const pgid = await foreignLeader(s);
      writeStaleRecord(dir, format, await deadProcess(procfsTable), { pgid, leaderStartTime: procfsTable.startTime(pgid) }, { previousBoot: true });
      const report = await new GroupRegistry(dir, undefined, { containment: "process-group" }).reapLeftovers(200);
      expect(liveSleeps(s)).toHaveLength(1);
      expect(report.reaped).toEqual([]);
      expect(report.stale).toEqual([pgid]);
    });

    it(`${format}: a record whose pid now belongs to another process (another start time) kills nothing`, async () => {
      const dir = newDir();
      const s = uniqueSleep();
      const pgid = await foreignLeader(s);
      writeStaleRecord(dir, format, await deadProcess(procfsTable), { pgid, leaderStartTime: procfsTable.startTime(pgid)! - 7 });
      const report = await new GroupRegistry(dir, undefined, { containment: "process-group" }).reapLeftovers(200);
      expect(liveSleeps(s)).toHaveLength(1);
      expect(report.refused).toEqual([{ pgid, why: expect.stringMatching(/another process/) }]);
    });
  }

  it("a genuine leftover is reaped: owner killed -9, its command still running", async () => {
    const dir = newDir();
    const s = uniqueSleep();
    const owner = await startOwner(dir, "process-group", `sleep ${s}`);
    await crash(owner);
    expect(liveSleeps(s)).toHaveLength(1); // the crash left it behind
    const report = await new GroupRegistry(dir, undefined, { containment: "process-group" }).reapLeftovers(500);
    expect(report.reaped).toEqual([owner.pgid]);
    await waitUntil(() => liveSleeps(s).length === 0, 5000, "the leftover reaped");
    expect(readdirSync(dir)).toEqual([]); // the dead owner's journal is gone with it
  });

  it("a genuine leftover whose leader exited after the crash is reaped: each member carries the record's id", async () => {
    const dir = newDir();
    const s = uniqueSleep();
    const owner = await startOwner(dir, "process-group", `sleep ${s} & sleep ${s} & sleep 1`);
    await crash(owner);
    await waitUntil(() => !liveGroupMembers(owner.pgid).some((p) => p.pid === owner.pgid), 10_000, "the leader to exit");
    expect(liveSleeps(s)).toHaveLength(2);
    const report = await new GroupRegistry(dir, undefined, { containment: "process-group" }).reapLeftovers(500);
    expect(report.reaped).toEqual([owner.pgid]);
    await waitUntil(() => liveSleeps(s).length === 0, 5000, "the leaderless leftover reaped");
  });

  it("leaves the journals of a live owner alone", async () => {
    const dir = newDir();
    const s = uniqueSleep();
    const owner = await startOwner(dir, "process-group", `sleep ${s}`);
    const report = await new GroupRegistry(dir, undefined, { containment: "process-group" }).reapLeftovers(200);
    expect(report.skipped).toEqual([owner.pgid]);
    expect(liveSleeps(s)).toHaveLength(1);
    await crash(owner);
    await new GroupRegistry(dir, undefined, { containment: "process-group" }).reapLeftovers(200);
    await waitUntil(() => liveSleeps(s).length === 0, 5000, "reaped once its owner died");
  });

  describe("with the ps fallback (macOS and other systems without /proc)", () => {
    let previous: ProcessTable | undefined;
    afterEach(() => {
      if (previous) useProcessTable(previous);
    });

    it("reads start times and groups from ps, refuses the stale records and reaps the genuine one", async () => {
      previous = useProcessTable(psTable);
      const dir = newDir();
      const [s1, s2, s3] = [uniqueSleep(), uniqueSleep(), uniqueSleep()];
      const foreign = await foreignLeaderlessGroup(s1);
      const reused = await foreignLeader(s2);
      const ours = await foreignLeader(s3); // "ours": its record has its true start time
      expect(psTable.groupMembers(foreign)).toEqual(liveSleeps(s1).map((p) => p.pid));
      expect(Math.abs(psTable.startTime(ours)! - Date.now() / 1000)).toBeLessThan(30);
      const dead = await deadProcess(psTable);
      writeStaleRecord(dir, "journal", dead, { pgid: foreign, leaderStartTime: 1 }, { table: psTable });
      writeFileSync(join(dir, "other.journal"), ""); // unreadable: dropped
      const journal = (pgid: number, start: number | undefined, n: number) =>
        writeFileSync(
          join(dir, `${dead.pid}-0000000${n}.journal`),
          `${JSON.stringify({ owner: { pid: dead.pid, startTime: dead.startTime, bootId: psTable.bootId(), table: "ps" } })}\n${JSON.stringify({ add: { id: `0000000${n}.1`, pgid, leaderStartTime: start, command: "x", startedAt: 0 } })}\n`,
        );
      journal(reused, psTable.startTime(reused)! - 100, 1);
      journal(ours, psTable.startTime(ours), 2);
      const report = await new GroupRegistry(dir, undefined, { containment: "process-group" }).reapLeftovers(500);
      expect(report.reaped).toEqual([ours]);
      expect(report.refused.map((r) => r.pgid).sort()).toEqual([foreign, reused].sort());
      await waitUntil(() => liveSleeps(s3).length === 0, 5000, "the genuine one reaped");
      expect(liveSleeps(s1)).toHaveLength(1);
      expect(liveSleeps(s2)).toHaveLength(1);
    });
  });
});
