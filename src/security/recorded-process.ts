import { processStartTime } from "../process/process-table.js";
import type { RuntimeRecord } from "./runtime-file.js";

/**
 * Whether the process a runtime file names still serves: for `server status`, `server stop` and
 * the daemon start. Apart from runtime-file.ts so that a client, which only reads the record, does
 * not load the process table (and node's child_process with it).
 */

export type ProcessCheck = "alive" | "gone" | "unknown";

/**
 * Is the recorded process still the one that wrote the record? "alive": same pid and start time;
 * "gone": no such process, or another process got the pid; "unknown": start times cannot be read
 * here (no /proc), so only the server itself can tell (launch proof over HTTP).
 */
export function recordedProcess(record: RuntimeRecord): ProcessCheck {
  const now = processStartTime(record.pid);
  if (record.process_start === null) return pidExists(record.pid) ? "unknown" : "gone";
  return now === record.process_start ? "alive" : "gone";
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
