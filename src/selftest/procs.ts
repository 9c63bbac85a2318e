import { readdirSync, readFileSync } from "node:fs";

/** One row of the process table, as /proc says (what really runs, not what we think runs). */
export interface ProcRow {
  pid: number;
  pgid: number;
  state: string;
  cmdline: string;
}

export function processTable(): ProcRow[] {
  const rows: ProcRow[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return rows;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      rows.push({ pid: Number(entry), state: f[0]!, pgid: Number(f[2]), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return rows;
}

const live = (p: ProcRow) => p.state !== "Z" && p.state !== "X";

/** Live processes whose command line is exactly `cmdline`. */
export function liveWithCmdline(cmdline: string): ProcRow[] {
  return processTable().filter((p) => live(p) && p.cmdline === cmdline);
}

export function liveGroupMembers(pgid: number): ProcRow[] {
  return processTable().filter((p) => live(p) && p.pgid === pgid);
}

/** True when this machine has a /proc to look at (Linux). */
export function haveProc(): boolean {
  try {
    readFileSync("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
}

/** Resident set size of a process in bytes, or undefined when it cannot be read here. */
export function rssOf(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** A sleep duration no other process uses, so that `sleep <it>` can be found in the table. */
export function uniqueSleep(base = 300): string {
  return `${base}.${String(process.pid).padStart(6, "0")}${Math.floor(Math.random() * 1e6).toString().padStart(6, "0")}`;
}

export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
