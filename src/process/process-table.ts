import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

/**
 * What we ask of the operating system about processes, with two implementations chosen at run
 * time: /proc where it exists (Linux), `ps` and `sysctl` elsewhere (macOS, BSDs).
 */
export interface ProcessTable {
  readonly kind: "procfs" | "ps";
  /**
   * When the process started, in a unit of the table's own (Linux: clock ticks since boot;
   * ps: seconds since the epoch). Undefined when it is gone or a zombie. Compared only with values
   * the same table gave on the same boot: with the pid and the boot id it names one process.
   */
  startTime(pid: number): number | undefined;
  /** The same, without blocking the event loop (`ps` takes milliseconds). */
  startTimeAsync(pid: number): Promise<number | undefined>;
  /** Identifies this boot of the machine: start times are only comparable within one boot. */
  bootId(): string | undefined;
  /** Pids of every live (non-zombie) process whose process group is `pgid`. */
  groupMembers(pgid: number): number[];
  /** The environment a live process was started with, or undefined when it cannot be read. */
  environment(pid: number): string[] | undefined;
}

/** Fields after the command name of /proc/<pid>/stat (field 3 onwards), which may contain spaces and parentheses. */
function parseStat(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

function statFields(pid: number | string): string[] | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

const dead = (state: string | undefined) => state === "Z" || state === "X";

function startFromStat(fields: string[] | undefined): number | undefined {
  if (!fields || dead(fields[0])) return undefined;
  return Number(fields[19]); // field 22: starttime
}

export const procfsTable: ProcessTable = {
  kind: "procfs",
  startTime(pid) {
    return startFromStat(statFields(pid));
  },
  startTimeAsync(pid) {
    return readFile(`/proc/${pid}/stat`, "utf8").then(
      (stat) => startFromStat(parseStat(stat)),
      () => undefined,
    );
  },
  bootId() {
    try {
      return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      return undefined;
    }
  },
  groupMembers(pgid) {
    const members: number[] = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const fields = statFields(entry);
      if (fields && Number(fields[2]) === pgid && !dead(fields[0])) members.push(Number(entry));
    }
    return members;
  },
  environment(pid) {
    try {
      return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
    } catch {
      return undefined;
    }
  },
};

const LSTART_ARGS = (pid: number) => ["-o", "stat=,lstart=", "-p", String(pid)];

/** "S    Tue Dec  1 22:18:46 2026" -> seconds since the epoch; undefined for a zombie or nothing. */
function startFromLstart(out: string | undefined): number | undefined {
  const [state, ...rest] = (out ?? "").trim().split(/\s+/);
  if (!state || state.startsWith("Z")) return undefined;
  const ms = Date.parse(rest.join(" "));
  return Number.isNaN(ms) ? undefined : Math.round(ms / 1000);
}

function ps(args: string[]): string | undefined {
  try {
    return execFileSync("ps", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 });
  } catch {
    return undefined; // ps exits 1 when no process matched
  }
}

let psBootId: string | undefined | null = null;

export const psTable: ProcessTable = {
  kind: "ps",
  startTime(pid) {
    return startFromLstart(ps(LSTART_ARGS(pid)));
  },
  startTimeAsync(pid) {
    return new Promise((resolve) => execFile("ps", LSTART_ARGS(pid), { encoding: "utf8", timeout: 5000 }, (err, out) => resolve(err ? undefined : startFromLstart(out))));
  },
  bootId() {
    if (psBootId === null) {
      try {
        // macOS/BSD: "{ sec = 1700000000, usec = 123 } Tue Nov 14 ..."
        const out = execFileSync("sysctl", ["-n", "kern.boottime"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 });
        psBootId = /sec = (\d+)/.exec(out)?.[1] ?? (out.trim() || undefined);
      } catch {
        psBootId = procfsTable.bootId(); // Linux without /proc mounted where we look: rare, but costs nothing
      }
    }
    return psBootId;
  },
  groupMembers(pgid) {
    const out = ps(["-A", "-o", "pid=,pgid=,stat="]) ?? "";
    const members: number[] = [];
    for (const line of out.split("\n")) {
      const [pid, group, state] = line.trim().split(/\s+/);
      if (Number(group) === pgid && state && !state.startsWith("Z")) members.push(Number(pid));
    }
    return members;
  },
  environment(pid) {
    // BSD-style `e` appends the environment to the command: enough to look for one exact entry.
    const out = ps(["eww", "-o", "command=", "-p", String(pid)]);
    return out === undefined ? undefined : out.trim().split(/\s+/);
  },
};

let table: ProcessTable = existsSync("/proc/self/stat") ? procfsTable : psTable;

/** The process table in use: /proc where it exists, else `ps`. */
export function processTable(): ProcessTable {
  return table;
}

/** Chooses the implementation (tests of the `ps` fallback on Linux); returns the previous one. */
export function useProcessTable(next: ProcessTable): ProcessTable {
  const previous = table;
  table = next;
  return previous;
}

/** The kernel's start time of a live process (see ProcessTable.startTime), undefined when it is gone or a zombie. */
export function processStartTime(pid: number): number | undefined {
  return table.startTime(pid);
}

/** Pids of every live (non-zombie) process whose group is `pgid`, from the OS, not from our own bookkeeping. */
export function groupMembers(pgid: number): number[] {
  return table.groupMembers(pgid);
}
