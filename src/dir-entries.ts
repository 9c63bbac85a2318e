import { readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Listing a directory where "missing" and "cannot be read" both mean "nothing there" to the
 * caller: state folders that are made on first use, leftovers, records of other processes.
 */

/** The names in `dir`; none when it is missing or unreadable. */
export function entryNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The names of the subdirectories of `dir`; none when it is missing or unreadable. */
export function subdirectoryNames(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

/** The paths of the subdirectories of `dir`; none when it is missing or unreadable. */
export function subdirectoryPaths(dir: string): string[] {
  return subdirectoryNames(dir).map((name) => join(dir, name));
}
