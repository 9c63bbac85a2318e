import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readJournal } from "../../src/process/index.js";

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  cmdline: string;
}

/** The process table, read from /proc (what really runs, not what we think runs). */
export function processTable(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      out.push({ pid: Number(entry), state: f[0]!, ppid: Number(f[1]), pgid: Number(f[2]), cmdline });
    } catch {
      // gone
    }
  }
  return out;
}

/** Live (non-zombie) `sleep <duration>` processes, as started with a duration from uniqueSleep(). */
export function liveSleeps(duration: string): ProcInfo[] {
  return processTable().filter((p) => p.cmdline === `sleep ${duration}` && p.state !== "Z" && p.state !== "X");
}

/** Live members of a process group. */
export function liveGroupMembers(pgid: number): ProcInfo[] {
  return processTable().filter((p) => p.pgid === pgid && p.state !== "Z" && p.state !== "X");
}

export async function waitUntil(cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A unique sleep duration: `sleep <uniqueSleep()>` shows up in the process table with an argument
 * no other process has, so a test can find its grandchildren without trusting our bookkeeping.
 */
export function uniqueSleep(base = 300): string {
  return `${base}.${String(process.pid).padStart(6, "0")}${Math.floor(Math.random() * 1e6).toString().padStart(6, "0")}`;
}

/** Process groups recorded as live in a state directory's `groups` folder (every journal in it): what a crash-reaper would find. */
export function recordedGroups(groupsDir: string): number[] {
  let names: string[] = [];
  try {
    names = readdirSync(groupsDir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith(".journal")).flatMap((n) => readJournal(join(groupsDir, n))?.records.map((r) => r.pgid) ?? []);
}

/**
 * Whether a process is stopped by a pause: in state T (SIGSTOP, process groups), or in a cgroup v2
 * whose cgroup.events says frozen (cgroup.freeze, where executions have their own cgroup).
 */
export function isPaused(p: ProcInfo): boolean {
  if (p.state === "T") return true;
  try {
    const path = /^0::(.*)$/m.exec(readFileSync(`/proc/${p.pid}/cgroup`, "utf8"))?.[1];
    const mount = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .find((l) => l.split(" - ")[1]?.startsWith("cgroup2 "))
      ?.split(" ")[4];
    return path !== undefined && mount !== undefined && readFileSync(join(mount, path, "cgroup.events"), "utf8").includes("frozen 1");
  } catch {
    return false;
  }
}
