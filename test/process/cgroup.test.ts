import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cgroupSupport, findCgroup2Mount, removeCgroupDir } from "../../src/process/cgroup.js";
import { GroupRegistry, startProcess } from "../../src/process/index.js";
import { crash, startGroupOwner } from "../helpers/group-owner.js";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";

/*
 * cgroup v2 containment needs Linux with a writable cgroup v2 hierarchy (root, or a subtree
 * delegated by systemd). Where there is none these tests are skipped, and say why in their names
 * and on stderr: a skipped test here is not a pass.
 */
const support = cgroupSupport();
const why = support.available ? "" : ` [SKIPPED: no usable cgroup v2 here: ${support.reason}]`;
if (!support.available) console.warn(`cgroup containment tests skipped: ${support.reason}`);
const limited = cgroupSupport({ pidsMax: 20 });
const limitsWhy = limited.available && !limited.limitsUnavailable ? "" : ` [SKIPPED: ${limited.available ? limited.limitsUnavailable : limited.reason}]`;
if (limitsWhy) console.warn(`cgroup limit tests skipped:${limitsWhy}`);

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function registry(options: ConstructorParameters<typeof GroupRegistry>[2] = {}): GroupRegistry {
  return new GroupRegistry(mkdtempSync(join(tmpdir(), "cce-cg-")), undefined, options);
}

/** Kills what a test left, whatever happened: the sleeps it started, by their unique argument. */
function sweep(...sleeps: string[]): void {
  cleanups.push(() => {
    for (const s of sleeps) for (const p of liveSleeps(s)) process.kill(p.pid, "SIGKILL");
  });
}

describe.skipIf(!support.available)(`cgroup v2 containment${why}`, () => {
  it("reports cgroup containment, and each execution gets its own cgroup, removed when it ends", async () => {
    const reg = registry();
    expect(reg.containment()).toMatchObject({ kind: "cgroup" });
    const s = uniqueSleep();
    sweep(s);
    const proc = await startProcess({ command: `sleep ${s}`, registry: reg });
    expect(proc.containment.kind).toBe("cgroup");
    const dir = reg.list()[0]!.cgroup!;
    // The leader joins its cgroup itself, first thing after it was spawned.
    await waitUntil(() => readFileSync(join(dir, "cgroup.procs"), "utf8").trim().split("\n").map(Number).includes(proc.pid), 5000, "the leader in its cgroup");
    await proc.cancel();
    await waitUntil(() => !existsSync(dir), 5000, "the cgroup removed");
  });

  it("the next execution's cgroup is made ahead of time, and a process that exits leaves none of its cgroups behind", async () => {
    const script = join(mkdtempSync(join(tmpdir(), "cce-cg-exit-")), "owner.mts");
    const processIndex = new URL("../../src/process/index.js", import.meta.url).pathname;
    writeFileSync(
      script,
      `import { existsSync, readdirSync } from "node:fs";
      import { GroupRegistry, startProcess } from ${JSON.stringify(processIndex)};
      const registry = new GroupRegistry(process.argv[2]);
      const first = await startProcess({ command: ["true"], registry });
      const firstDir = registry.list()[0].cgroup;
      await first.done;
      const ownerDir = registry.cgroups().ownerDir;
      const cgroups = () => readdirSync(ownerDir).filter((n) => /^e\\d+$/.test(n));
      while (existsSync(firstDir) || cgroups().length !== 1) await new Promise((r) => setTimeout(r, 10));
      const spare = cgroups()[0];
      const second = await startProcess({ command: ["sleep", "0.2"], registry });
      const secondDir = registry.list().at(-1).cgroup;
      await second.done;
      console.log(JSON.stringify({ ownerDir, firstDir, spare, secondDir }));`,
    );
    const { execFileSync } = await import("node:child_process");
    const out = JSON.parse(execFileSync(process.execPath, ["--import", "tsx", script, mkdtempSync(join(tmpdir(), "cce-cg-groups-"))], { encoding: "utf8" })) as Record<string, string>;
    expect(out.secondDir).toBe(join(out.ownerDir!, out.spare!)); // the spare made after the first
    expect(out.secondDir).not.toBe(out.firstDir);
    // exited with the spare made for a third and the second's removal possibly still under way
    expect(existsSync(out.ownerDir!)).toBe(false);
  });

  it("cancel right after the start (before the leader has joined its cgroup) still kills it", async () => {
    const s = uniqueSleep();
    sweep(s);
    for (let i = 0; i < 5; i++) {
      const proc = await startProcess({ command: `sleep ${s}`, registry: registry(), killGraceMs: 300 });
      expect((await proc.cancel()).status).toBe("canceled");
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(liveSleeps(s)).toEqual([]);
  });

  it("cancel kills a process that left the group with setsid", async () => {
    const s = uniqueSleep();
    sweep(s);
    const proc = await startProcess({ command: `setsid sleep ${s} & sleep 300`, registry: registry(), killGraceMs: 500 });
    await waitUntil(() => liveSleeps(s).length === 1, 5000, "the setsid daemon");
    const daemon = liveSleeps(s)[0]!;
    expect(daemon.pgid).not.toBe(proc.pgid); // it really left the group
    expect((await proc.cancel()).status).toBe("canceled");
    expect(liveSleeps(s)).toEqual([]);
  });

  it("timeout kills a setsid daemon too (one that ignores SIGTERM: cgroup.kill after the grace period)", async () => {
    const s = uniqueSleep();
    sweep(s);
    const proc = await startProcess({ command: `setsid sh -c 'trap "" TERM; sleep ${s}' & sleep 300`, registry: registry(), timeoutMs: 500, killGraceMs: 300 });
    await waitUntil(() => liveSleeps(s).length === 1, 5000, "the setsid daemon");
    const result = await proc.done;
    expect(result.status).toBe("timeout");
    expect(liveSleeps(s)).toEqual([]);
  });

  it("when the command exits, what it left running in its cgroup (a setsid daemon) is killed", async () => {
    const s = uniqueSleep();
    sweep(s);
    const result = await (await startProcess({ command: `setsid sleep ${s} & echo started`, registry: registry() })).done;
    expect(result.status).toBe("completed");
    expect(liveSleeps(s)).toEqual([]);
  });

  it("pause freezes every process of the execution, also one outside its group; resume thaws them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-freeze-"));
    const ticks = join(dir, "ticks");
    const reg = registry();
    const proc = await startProcess({ command: `setsid sh -c 'while :; do echo x >> ${ticks}; sleep 0.02; done' & sleep 300`, registry: reg, killGraceMs: 300 });
    cleanups.push(() => void proc.cancel());
    const events = join(reg.list()[0]!.cgroup!, "cgroup.events");
    await waitUntil(() => existsSync(ticks) && statSync(ticks).size > 10, 5000, "ticks");
    expect(proc.pause()).toBe(true);
    await waitUntil(() => readFileSync(events, "utf8").includes("frozen 1"), 5000, "frozen");
    const frozenAt = statSync(ticks).size;
    await new Promise((r) => setTimeout(r, 300));
    expect(statSync(ticks).size).toBe(frozenAt);
    expect(proc.resume()).toBe(true);
    await waitUntil(() => statSync(ticks).size > frozenAt, 5000, "ticks after resume");
    expect((await proc.cancel()).status).toBe("canceled");
  });

  it("after a crash (kill -9 of the owner) the next start kills and removes the leftover cgroup, setsid daemons included", async () => {
    const groups = mkdtempSync(join(tmpdir(), "cce-cg-crash-"));
    const [s1, s2] = [uniqueSleep(), uniqueSleep()];
    sweep(s1, s2);
    const owner = await startGroupOwner(groups, "auto", `setsid sleep ${s1} & sleep ${s2}`, cleanups);
    expect(owner.containment).toBe("cgroup");
    await waitUntil(() => liveSleeps(s1).length === 1 && liveSleeps(s2).length === 1, 5000, "both running");
    await crash(owner);
    // A process on another state directory leaves them alone: they are not its leftovers.
    const elsewhere = await new GroupRegistry(mkdtempSync(join(tmpdir(), "cce-cg-other-"))).reapLeftovers(500);
    expect(elsewhere.cgroups).toEqual([]);
    expect(liveSleeps(s1).length + liveSleeps(s2).length).toBe(2);
    const report = await new GroupRegistry(groups).reapLeftovers(500);
    expect(report.cgroups).toContain(owner.cgroup);
    await waitUntil(() => liveSleeps(s1).length === 0 && liveSleeps(s2).length === 0, 5000, "both reaped");
    expect(existsSync(owner.cgroup!)).toBe(false);
    expect(existsSync(join(owner.cgroup!, ".."))).toBe(false); // the dead owner's directory too
  });

  it("a leftover cgroup is reaped even when its record never reached the journal (the kernel is the record)", async () => {
    const groups = mkdtempSync(join(tmpdir(), "cce-cg-norecord-"));
    const s = uniqueSleep();
    sweep(s);
    const owner = await startGroupOwner(groups, "auto", `setsid sleep ${s} & sleep 300`, cleanups);
    await waitUntil(() => liveSleeps(s).length === 1, 5000, "running");
    await crash(owner);
    for (const f of readdirSync(groups)) writeFileSync(join(groups, f), ""); // as if killed before the write
    const report = await new GroupRegistry(groups).reapLeftovers(500);
    expect(report.cgroups).toContain(owner.cgroup);
    await waitUntil(() => liveSleeps(s).length === 0, 5000, "reaped");
  });

  it("a record naming a cgroup that is not one of ours is never acted on", async () => {
    const groups = mkdtempSync(join(tmpdir(), "cce-cg-forged-"));
    const s = uniqueSleep();
    sweep(s);
    // A live process in a cgroup of someone else's (made here, outside any cc-executor directory).
    const foreign = join(support.available ? support.scopeDir : "", "..", "..", `not-ours-${process.pid}`);
    const proc = await startProcess({ command: `sleep ${s}` });
    mkdirSync(foreign);
    cleanups.push(() => {
      writeFileSync(join(foreign, "cgroup.kill"), "1");
      void removeCgroupDir(foreign);
    });
    writeFileSync(join(foreign, "cgroup.procs"), String(proc.pid));
    const dead = { pid: 999_999, startTime: 1 };
    const header = { owner: { pid: dead.pid, startTime: dead.startTime, bootId: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(), table: "procfs" } };
    const add = { add: { id: "forged.1", pgid: 999_998, cgroup: foreign, command: "x", startedAt: 0 } };
    writeFileSync(join(groups, "999999-forged.journal"), `${JSON.stringify(header)}\n${JSON.stringify(add)}\n`);
    const report = await new GroupRegistry(groups).reapLeftovers(200);
    expect(report.cgroups).toEqual([]);
    expect(liveSleeps(s)).toHaveLength(1);
    await proc.cancel();
  });

  it.skipIf(Boolean(limitsWhy))(`pids.max from the configuration stops a fork bomb inside the execution${limitsWhy}`, async () => {
    const reg = registry({ limits: { pidsMax: 20 } });
    const result = await (await startProcess({ command: "for i in $(seq 1 60); do sleep 5 & done; wait", registry: reg, timeoutMs: 10_000 })).done;
    expect(result.stderr).toMatch(/fork|Resource temporarily unavailable|retry/i);
  });
});

describe("without cgroups (configured, or not available)", () => {
  it("process groups are used, and the reason is reported", async () => {
    const reg = registry({ containment: "process-group" });
    expect(reg.containment()).toEqual({ kind: "process-group", reason: expect.stringMatching(/CC_EXECUTOR_CONTAINMENT=process-group/) });
    const s = uniqueSleep();
    sweep(s);
    const proc = await startProcess({ command: `sleep ${s}`, registry: reg });
    expect(proc.containment.kind).toBe("process-group");
    expect(reg.list()[0]!.cgroup).toBeUndefined();
    await proc.cancel();
    expect(liveSleeps(s)).toEqual([]);
  });

  it("configured limits that cannot be applied are reported, not silently dropped", () => {
    const reg = registry({ limits: { pidsMax: 20 } });
    const info = reg.containment();
    if (info.kind === "cgroup" && info.limits.pidsMax === 20) return; // applied: covered above
    expect(info.kind === "cgroup" ? info.limits_unavailable : info.reason).toBeTruthy();
  });
});

describe("the cgroup v2 mount as /proc/self/mountinfo describes it", () => {
  const line = (superOptions: string) => `41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 ${superOptions}\n`;
  it("finds the mount point and whether it is mounted with favordynmods (a super-block option)", () => {
    expect(findCgroup2Mount(`22 1 0:21 / /proc rw - proc proc rw\n${line("rw")}`)).toEqual({ root: "/", mountPoint: "/sys/fs/cgroup/unified", readOnly: false, favordynmods: false });
    expect(findCgroup2Mount(line("rw,nsdelegate,favordynmods,memory_recursiveprot"))).toMatchObject({ favordynmods: true });
    expect(findCgroup2Mount("22 1 0:21 / /proc rw - proc proc rw\n")).toBeUndefined();
  });
});
