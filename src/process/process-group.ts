import { readdirSync, readFileSync } from "node:fs";

/** Sends a signal to every process of a group. Returns false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new Error(`refusing to signal process group ${pgid}`);
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}

/**
 * Whether any process of the group is still alive. Zombies do not count: members that died but
 * were re-parented to an init that reaps slowly would otherwise look alive for a while.
 */
export function groupExists(pgid: number): boolean {
  return signalGroup(pgid, 0) && groupMembers(pgid).length > 0;
}

/**
 * The kernel's start time of a live process (clock ticks since boot, /proc/<pid>/stat field 22),
 * undefined when it is gone or a zombie. With the pid it identifies a process uniquely, so a
 * recycled pid is never mistaken for ours.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** Pids of every live (non-zombie) process whose group is `pgid`, read from /proc, not from our own bookkeeping. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") members.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return members;
}

/**
 * Terminates a whole group: SIGTERM (plus SIGCONT so that a stopped group can act on it),
 * then SIGKILL after `graceMs` if anything is left. Resolves when the group is gone or SIGKILL was sent.
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<"gone" | "killed"> {
  if (!signalGroup(pgid, "SIGTERM")) return "gone";
  signalGroup(pgid, "SIGCONT");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(50, graceMs)));
    if (!groupExists(pgid)) return "gone";
  }
  signalGroup(pgid, "SIGKILL");
  return "killed";
}
