import { groupMembers } from "./process-table.js";

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
