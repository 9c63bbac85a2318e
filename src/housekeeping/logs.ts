import { closeSync, ftruncateSync, openSync, readSync, statSync, writeSync } from "node:fs";

/** server.log (written by `server start --daemon`) is trimmed by cleanup once it passes this... */
export const SERVER_LOG_MAX_BYTES = 10 * 1024 * 1024;
/** ...down to its last lines, about this much. */
export const SERVER_LOG_KEEP_BYTES = 1024 * 1024;

export interface LogTrim {
  path: string;
  bytes: number;
  /** Size after trimming (equal to bytes when nothing was done). */
  kept_bytes: number;
  trimmed: boolean;
}

/**
 * Keeps the last lines of a log that grew past `maxBytes`. The file is truncated in place (not
 * replaced), so a daemon appending to it (O_APPEND) goes on writing to the same file; a line it
 * writes during the trim may be lost.
 */
export function trimLog(path: string, options: { maxBytes?: number; keepBytes?: number; dryRun?: boolean } = {}): LogTrim | undefined {
  const maxBytes = options.maxBytes ?? SERVER_LOG_MAX_BYTES;
  const keepBytes = options.keepBytes ?? SERVER_LOG_KEEP_BYTES;
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return undefined; // no log
  }
  if (size <= maxBytes) return { path, bytes: size, kept_bytes: size, trimmed: false };
  const fd = openSync(path, "r+");
  try {
    const tail = Buffer.alloc(Math.min(keepBytes, size));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    const firstLine = tail.indexOf(10) + 1; // start at a whole line
    const header = Buffer.from(`[cc-executor cleanup ${new Date().toISOString()}: ${size - (tail.length - firstLine)} bytes of older log lines removed]\n`);
    const body = tail.subarray(firstLine);
    if (options.dryRun) return { path, bytes: size, kept_bytes: header.length + body.length, trimmed: true };
    ftruncateSync(fd, 0);
    writeSync(fd, header, 0, header.length, 0);
    writeSync(fd, body, 0, body.length, header.length);
    return { path, bytes: size, kept_bytes: header.length + body.length, trimmed: true };
  } finally {
    closeSync(fd);
  }
}
