import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { readHooksFile } from "./config.js";
import { programsOf } from "./hook-programs.js";

/**
 * Trust for a project's hooks file, as direnv's `allow`: a checkout's `.cc-executor/hooks.json`
 * runs only after the user trusted that exact content with `cc-executor hooks trust`. The record
 * lives in the user's state directory (never in the project) and holds a SHA-256 of every file the
 * hooks run directly:
 *   - the hooks file itself;
 *   - each module a module hook names (its code is what runs);
 *   - each file inside the project that a command hook runs directly: a program given as a path
 *     (`./check.sh`) or a script given to an interpreter (`node .cc-executor/guard.js`), see
 *     hook-programs.ts; arguments and redirection targets are data, not covered.
 * Not covered: what those files read, import or run in turn, and files outside the project. Keep
 * hook code self-contained, or out of the checkout (a path the project's tasks cannot write).
 */

export const TRUST_FILE = "trusted-hooks.json";

export interface TrustRecord {
  /** SHA-256 of each covered file, by absolute path. */
  files: Record<string, string>;
  trusted_at: string;
}

interface TrustStore {
  version: 1;
  hooks_files: Record<string, TrustRecord>;
}

export type TrustCheck =
  | { trusted: true }
  | { trusted: false; reason: "new"; message: string }
  | { trusted: false; reason: "changed"; changed: string[]; message: string };

function trustFile(home: string): string {
  return join(home, TRUST_FILE);
}

function readStore(home: string): TrustStore {
  try {
    const store = JSON.parse(readFileSync(trustFile(home), "utf8")) as TrustStore;
    if (store && store.version === 1 && typeof store.hooks_files === "object" && store.hooks_files !== null) return store;
  } catch {
    // none yet, or unreadable: nothing is trusted
  }
  return { version: 1, hooks_files: {} };
}

function writeStore(home: string, store: TrustStore): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = trustFile(home);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}

function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The files whose content the trust covers, the hooks file first. */
export function coveredFiles(hooksFile: string): string[] {
  const files = new Set<string>([hooksFile]);
  let config;
  try {
    config = readHooksFile(hooksFile);
  } catch {
    return [...files]; // an invalid file runs nothing; its bytes alone are what is trusted
  }
  // the project is the folder holding .cc-executor/
  const project = dirname(config.dir);
  for (const specs of Object.values(config.hooks)) {
    for (const spec of specs) {
      if (spec.kind === "module") {
        files.add(spec.modulePath);
        continue;
      }
      for (const program of programsOf(spec.command)) {
        const path = resolve(config.dir, program);
        // (a missing one is covered too: one appearing later is a change)
        if (isInside(project, path)) files.add(path);
      }
    }
  }
  return [...files];
}

/**
 * Hashes are cached per file version: device, inode, size, mtime and ctime. ctime cannot be set
 * from user space, so rewriting a file and putting its old mtime back still counts as a change.
 */
const hashCache = new Map<string, { stamp: string; hash: string }>();

function sha256(path: string): string | undefined {
  try {
    const st = statSync(path);
    const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    const cached = hashCache.get(path);
    if (cached?.stamp === stamp) return cached.hash;
    const hash = createHash("sha256").update(readFileSync(path)).digest("hex");
    hashCache.set(path, { stamp, hash });
    return hash;
  } catch {
    return undefined;
  }
}

/** SHA-256 of every covered file now (a missing file has no hash). */
export function fingerprint(hooksFile: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const path of coveredFiles(hooksFile)) out[path] = sha256(path) ?? "missing";
  return out;
}

/** Records the hooks file (absolute path) and what it runs, as they are now. */
export function trustHooksFile(home: string, hooksFile: string): TrustRecord {
  const path = resolve(hooksFile);
  if (!isFile(path)) throw new Error(`${path}: no such file`);
  const record: TrustRecord = { files: fingerprint(path), trusted_at: new Date().toISOString() };
  const store = readStore(home);
  store.hooks_files[path] = record;
  writeStore(home, store);
  return record;
}

/** Forgets the hooks file; false when it was not trusted. */
export function untrustHooksFile(home: string, hooksFile: string): boolean {
  const path = resolve(hooksFile);
  const store = readStore(home);
  if (!(path in store.hooks_files)) return false;
  delete store.hooks_files[path];
  writeStore(home, store);
  return true;
}

export function trustedHooksFiles(home: string): Array<{ path: string; record: TrustRecord }> {
  return Object.entries(readStore(home).hooks_files).map(([path, record]) => ({ path, record }));
}

/** Is this exact content (and every file it runs) trusted? The message says what to do when not. */
export function checkTrust(home: string, hooksFile: string): TrustCheck {
  const path = resolve(hooksFile);
  const record = readStore(home).hooks_files[path];
  const how = `review it, then run: cc-executor hooks trust ${path}`;
  if (!record) return { trusted: false, reason: "new", message: `${path} is not trusted, so its hooks do not run; ${how}` };
  const now = fingerprint(path);
  const changed = [...new Set([...Object.keys(now), ...Object.keys(record.files)])].filter((f) => now[f] !== record.files[f]);
  if (changed.length === 0) return { trusted: true };
  return { trusted: false, reason: "changed", changed, message: `${path} or a file its hooks run changed since you trusted it (${changed.join(", ")}), so its hooks do not run; ${how}` };
}
