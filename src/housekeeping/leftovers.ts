import { statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { statePaths } from "../paths.js";
import { processStartTime } from "../process/index.js";
import { entryNames } from "../dir-entries.js";

/**
 * Files a process leaves behind when it dies at the wrong moment: `<file>.<pid>.tmp` of an atomic
 * write (checkpoints) and `.doctor-<pid>` probes. Only those whose process is gone are listed.
 */

const TMP = /\.(\d+)\.tmp$/;
const PROBE = /^\.doctor-(\d+)$/;

export interface Leftover {
  path: string;
  bytes: number;
  pid: number;
}

function deadPidFile(dir: string, name: string, pattern: RegExp): Leftover | undefined {
  const m = pattern.exec(name);
  if (!m) return undefined;
  const pid = Number(m[1]);
  if (processStartTime(pid) !== undefined) return undefined; // still being written
  const path = join(dir, name);
  try {
    return { path, bytes: statSync(path).size, pid };
  } catch {
    return undefined;
  }
}

export function findLeftoverFiles(home: string): Leftover[] {
  const found: Leftover[] = [];
  const paths = statePaths(home);
  for (const name of entryNames(paths.home)) {
    const f = deadPidFile(paths.home, name, PROBE) ?? deadPidFile(paths.home, name, TMP);
    if (f) found.push(f);
  }
  for (const run of entryNames(paths.runsDir)) {
    const dir = join(paths.runsDir, run);
    for (const name of entryNames(dir)) {
      const f = deadPidFile(dir, name, TMP);
      if (f) found.push(f);
    }
  }
  return found;
}

export function removeFiles(files: readonly Leftover[]): Array<{ path: string; error: string }> {
  const failed: Array<{ path: string; error: string }> = [];
  for (const f of files) {
    try {
      unlinkSync(f.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") failed.push({ path: f.path, error: (err as Error).message });
    }
  }
  return failed;
}
