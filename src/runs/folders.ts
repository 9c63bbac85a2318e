import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { statePaths } from "../paths.js";
import { processStartTime } from "../process/index.js";
import { effectiveStatus, type RunState } from "../tasks/checkpoint.js";
import { readExecutionFile, writerAlive } from "./execution-file.js";
import { RunFiles } from "./layout.js";

/**
 * The runs folder ($CC_EXECUTOR_HOME/runs): one folder per execution or task-list run, holding
 * whatever belongs to it (replay file, claude transcript and result, checkpoint, report, output
 * logs). It is pruned a whole folder at a time, by age and by total size, and never a folder that
 * is in use: an execution whose execution.json has no end and whose writer is alive, a task list
 * whose runner is alive, a folder claimed by a live process (a resumable execution's, while it can
 * still be replayed), an execution the server knows to be running, or anything written to very
 * recently (a writer that records nothing).
 */

/** Written into a run folder while a process uses it: {pid, start_time, host}. */
export const CLAIM_FILE = "in-use.json";
/** Folders written to more recently than this are kept, whoever writes them. */
export const RECENT_WRITE_MS = 5 * 60_000;

export interface RunFolder {
  id: string;
  path: string;
  /** Bytes of every file in it. */
  bytes: number;
  /** The newest modification time of the folder or anything in it, epoch ms. */
  lastWrite: number;
  /** Why it must not be removed now (undefined: it may be). */
  inUse?: string;
}

/**
 * Marks a run folder as used by this process until the returned function is called. A process
 * that dies leaves a claim that names a dead process, which counts for nothing. Never throws.
 */
export function claimRunFolder(dir: string): () => void {
  const file = join(dir, CLAIM_FILE);
  try {
    writeFileSync(file, JSON.stringify({ pid: process.pid, start_time: processStartTime(process.pid), host: hostname() }), { mode: 0o600 });
  } catch {
    return () => undefined; // the folder cannot be written: nothing else of it will be either
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      unlinkSync(file);
    } catch {
      // pruned or never there
    }
  };
}

/** Why a folder is in use, from what is in it (execution record, claim, checkpoint), or undefined. */
export function usedBy(dir: string): string | undefined {
  const execution = readExecutionFile(join(dir, RunFiles.execution));
  if (execution && execution.status === undefined && writerAlive(execution.writer)) return `running (pid ${execution.writer.pid})`;
  try {
    const claim = JSON.parse(readFileSync(join(dir, CLAIM_FILE), "utf8")) as { pid: number; start_time?: number; host?: string };
    if (claim.host !== undefined && claim.host !== hostname()) return `claimed by pid ${claim.pid} on ${claim.host}`;
    const started = processStartTime(claim.pid);
    if (started !== undefined && (claim.start_time === undefined || started === claim.start_time)) return `in use by pid ${claim.pid}`;
  } catch {
    // no claim, or an unreadable one
  }
  try {
    const state = JSON.parse(readFileSync(join(dir, RunFiles.checkpoint), "utf8")) as RunState;
    if (effectiveStatus(state) === "running") return `task list running (pid ${state.runner.pid})`;
  } catch {
    // not a task-list run
  }
  return undefined;
}

async function measure(dir: string): Promise<{ bytes: number; lastWrite: number }> {
  let bytes = 0;
  let lastWrite = 0;
  const walk = async (path: string, depth: number): Promise<void> => {
    let info;
    try {
      info = await stat(path);
    } catch {
      return; // removed meanwhile
    }
    lastWrite = Math.max(lastWrite, info.mtimeMs);
    if (!info.isDirectory()) {
      bytes += info.size;
      return;
    }
    if (depth > 4) return;
    let names: string[] = [];
    try {
      names = await readdir(path);
    } catch {
      return;
    }
    for (const name of names) await walk(join(path, name), depth + 1);
  };
  await walk(dir, 0);
  return { bytes, lastWrite };
}

/**
 * Every run folder with its size, last write and whether it is in use. `activeIds`: executions the
 * caller knows to be running (the server's), whatever their folder says.
 */
export async function scanRunFolders(home: string, options: { activeIds?: Iterable<string>; now?: number } = {}): Promise<RunFolder[]> {
  const runsDir = statePaths(home).runsDir;
  const active = new Set(options.activeIds ?? []);
  const now = options.now ?? Date.now();
  let entries;
  try {
    entries = await readdir(runsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const folders: RunFolder[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const path = join(runsDir, entry.name);
    const { bytes, lastWrite } = await measure(path);
    const folder: RunFolder = { id: entry.name, path, bytes, lastWrite };
    if (active.has(entry.name)) folder.inUse = "running in this server";
    else folder.inUse = usedBy(path) ?? (now - lastWrite < RECENT_WRITE_MS ? "written to in the last 5 minutes" : undefined);
    folders.push(folder);
  }
  return folders.sort((a, b) => a.lastWrite - b.lastWrite);
}

export interface RunsLimits {
  /** Folders last written longer ago than this go (undefined: no age limit). */
  maxAgeMs?: number;
  /** The oldest folders go until the rest fit (undefined: no size limit). */
  maxBytes?: number;
}

export interface RunsPrunePlan {
  remove: Array<RunFolder & { reason: "age" | "size" }>;
  /** Folders in use that the limits would have removed. */
  spared: RunFolder[];
  totalBytes: number;
  /** What stays once `remove` is gone. */
  keptBytes: number;
  folders: number;
}

/** Which folders the limits remove: too old ones, then the oldest until the total fits. In-use ones never. */
export function planRunsPrune(folders: readonly RunFolder[], limits: RunsLimits, now = Date.now()): RunsPrunePlan {
  const totalBytes = folders.reduce((sum, f) => sum + f.bytes, 0);
  const remove: RunsPrunePlan["remove"] = [];
  const spared: RunFolder[] = [];
  let kept = totalBytes;
  const oldestFirst = [...folders].sort((a, b) => a.lastWrite - b.lastWrite);
  for (const f of oldestFirst) {
    const reason = limits.maxAgeMs !== undefined && now - f.lastWrite > limits.maxAgeMs ? "age" : limits.maxBytes !== undefined && kept > limits.maxBytes ? "size" : undefined;
    if (!reason) continue;
    if (f.inUse) {
      spared.push(f);
      continue;
    }
    remove.push({ ...f, reason });
    kept -= f.bytes;
  }
  return { remove, spared, totalBytes, keptBytes: kept, folders: folders.length };
}

/** Removes the planned folders, checking each is still not in use right before. */
export async function removeRunFolders(plan: RunsPrunePlan): Promise<{ removed: RunFolder[]; failed: Array<{ folder: RunFolder; error: string }> }> {
  const removed: RunFolder[] = [];
  const failed: Array<{ folder: RunFolder; error: string }> = [];
  for (const folder of plan.remove) {
    const busy = usedBy(folder.path);
    if (busy) {
      failed.push({ folder, error: `now ${busy}` });
      continue;
    }
    try {
      await rm(folder.path, { recursive: true, force: true });
      removed.push(folder);
    } catch (err) {
      failed.push({ folder, error: (err as Error).message });
    }
  }
  return { removed, failed };
}

/** How much the runs folder holds. */
export interface RunsUsage {
  dir: string;
  bytes: number;
  folders: number;
  /** Last write of the oldest folder, epoch ms. */
  oldest_write?: number;
}

export function runsUsage(home: string, folders: readonly RunFolder[]): RunsUsage {
  const usage: RunsUsage = { dir: statePaths(home).runsDir, bytes: folders.reduce((s, f) => s + f.bytes, 0), folders: folders.length };
  if (folders.length > 0) usage.oldest_write = Math.min(...folders.map((f) => f.lastWrite));
  return usage;
}

export interface RunsPruneReport {
  plan: RunsPrunePlan;
  removed: RunFolder[];
  failed: Array<{ folder: RunFolder; error: string }>;
  dryRun: boolean;
}

/** Scans, plans and (unless dryRun) removes: the one way every caller prunes the runs folder. */
export async function pruneRuns(home: string, limits: RunsLimits, options: { activeIds?: Iterable<string>; dryRun?: boolean; now?: number } = {}): Promise<RunsPruneReport> {
  const now = options.now ?? Date.now();
  const plan = planRunsPrune(await scanRunFolders(home, { activeIds: options.activeIds, now }), limits, now);
  if (options.dryRun) return { plan, removed: [], failed: [], dryRun: true };
  return { plan, ...(await removeRunFolders(plan)), dryRun: false };
}
