import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { claimRunFolder, pruneRuns, scanRunFolders, usedBy } from "../../src/runs/index.js";

const DAY = 86_400_000;

/** A run folder with `bytes` of content, last written `ageMs` ago. */
function folder(home: string, id: string, bytes: number, ageMs: number, extra: Record<string, string> = {}): string {
  const dir = join(home, "runs", id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "events.jsonl"), "x".repeat(bytes));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  const t = (Date.now() - ageMs) / 1000;
  for (const name of ["events.jsonl", ...Object.keys(extra)]) utimesSync(join(dir, name), t, t);
  utimesSync(dir, t, t);
  return dir;
}

/** A pid that is certainly not running any more. */
async function deadPid(): Promise<number> {
  const child = spawn("true");
  await new Promise((r) => child.once("exit", r));
  return child.pid!;
}

describe("run folders", () => {
  it("age: folders last written before the limit go, newer ones stay", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-runs-"));
    folder(home, "old", 10, 40 * DAY);
    folder(home, "new", 10, 2 * DAY);
    const report = await pruneRuns(home, { maxAgeMs: 30 * DAY });
    expect(report.removed.map((f) => f.id)).toEqual(["old"]);
    expect(existsSync(join(home, "runs", "old"))).toBe(false);
    expect(existsSync(join(home, "runs", "new"))).toBe(true);
  });

  it("size: the oldest go until the rest fit; a dry run removes nothing", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-runs-"));
    for (let i = 1; i <= 5; i++) folder(home, `f${i}`, 1000, (10 - i) * DAY); // f1 oldest
    const plan = await pruneRuns(home, { maxBytes: 2500 }, { dryRun: true });
    expect(plan.plan.remove.map((f) => [f.id, f.reason])).toEqual([
      ["f1", "size"],
      ["f2", "size"],
      ["f3", "size"],
    ]);
    expect(plan.plan.keptBytes).toBe(2000);
    expect((await scanRunFolders(home)).length).toBe(5);
    const done = await pruneRuns(home, { maxBytes: 2500 });
    expect(done.removed.map((f) => f.id)).toEqual(["f1", "f2", "f3"]);
    expect((await scanRunFolders(home)).map((f) => f.id)).toEqual(["f4", "f5"]);
  });

  it("never removes a folder in use: a running execution, claimed by a live process, a running task list, running in the caller, or written to just now", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-runs-"));
    const claimed = folder(home, "claimed", 10, 40 * DAY);
    const release = claimRunFolder(claimed);
    const old = (Date.now() - 40 * DAY) / 1000;
    utimesSync(join(claimed, "in-use.json"), old, old);
    folder(home, "tl-running", 10, 40 * DAY, {
      "checkpoint.json": JSON.stringify({ status: "running", runner: { pid: process.pid, host: hostname() } }),
    });
    folder(home, "tl-interrupted", 10, 40 * DAY, {
      "checkpoint.json": JSON.stringify({ status: "running", runner: { pid: await deadPid(), host: hostname() } }),
    });
    folder(home, "active-here", 10, 40 * DAY);
    const record = (pid: number, ended: boolean) => JSON.stringify({ version: 1, execution_id: "x", kind: "command", label: "x", started_at: "", writer: { pid, host: hostname() }, ...(ended ? { status: "completed" } : {}) });
    folder(home, "command-running", 10, 40 * DAY, { "execution.json": record(process.pid, false) });
    folder(home, "command-ended", 10, 40 * DAY, { "execution.json": record(process.pid, true) });
    folder(home, "command-writer-died", 10, 40 * DAY, { "execution.json": record(await deadPid(), false) });
    folder(home, "fresh", 10, 0);
    folder(home, "dead-claim", 10, 40 * DAY, { "in-use.json": JSON.stringify({ pid: await deadPid(), host: hostname() }) });

    const report = await pruneRuns(home, { maxAgeMs: DAY, maxBytes: 0 }, { activeIds: ["active-here"] });
    expect(report.removed.map((f) => f.id).sort()).toEqual(["command-ended", "command-writer-died", "dead-claim", "tl-interrupted"]);
    expect(report.plan.spared.map((f) => [f.id, f.inUse]).sort()).toEqual([
      ["active-here", "running in this server"],
      ["claimed", `in use by pid ${process.pid}`],
      ["command-running", `running (pid ${process.pid})`],
      ["fresh", "written to in the last 5 minutes"],
      ["tl-running", `task list running (pid ${process.pid})`],
    ]);

    release();
    utimesSync(claimed, old, old); // the release itself is a write to the folder
    expect(usedBy(claimed)).toBeUndefined();
    expect((await pruneRuns(home, { maxAgeMs: DAY })).removed.map((f) => f.id)).toContain("claimed");
  });

  it("a folder claimed between the scan and the removal is left alone", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-runs-"));
    const dir = folder(home, "late", 10, 40 * DAY);
    const report = await pruneRuns(home, { maxAgeMs: DAY }, { dryRun: true });
    expect(report.plan.remove.map((f) => f.id)).toEqual(["late"]);
    const release = claimRunFolder(dir);
    const { removeRunFolders } = await import("../../src/runs/index.js");
    const result = await removeRunFolders(report.plan);
    expect(result.removed).toEqual([]);
    expect(result.failed[0]!.error).toMatch(/in use by pid/);
    expect(existsSync(dir)).toBe(true);
    release();
  });
});
