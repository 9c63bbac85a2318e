import { chmodSync, lstatSync, mkdirSync, type Stats } from "node:fs";
import { join } from "node:path";
import { entryNames } from "../dir-entries.js";

/**
 * The state directory holds the token, the user's hooks and settings, history and every run's
 * output: 0700, its files 0600 (0700 for an executable) and its folders 0700, owned by the user who runs cc-executor.
 * Tightened at every server start (entries at the top level: the directory's own mode already
 * keeps others out of everything below), checked by `doctor`.
 */

export class StateDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StateDirError";
  }
}

export interface StateDirProblem {
  path: string;
  problem: string;
  fix: string;
}

function uid(): number | undefined {
  return process.geteuid?.();
}

/** What is wrong with the state directory's ownership and modes (nothing is changed). */
export function inspectStateDir(home: string): StateDirProblem[] {
  const problems: StateDirProblem[] = [];
  let st: Stats;
  try {
    st = lstatSync(home);
  } catch {
    return problems; // created on first start, with the right mode
  }
  const me = uid();
  if (me !== undefined && st.uid !== me) problems.push({ path: home, problem: `owned by uid ${st.uid}, not by you (uid ${me})`, fix: `use a state directory of your own (CC_EXECUTOR_HOME), or chown ${me} ${home}` });
  if (st.isSymbolicLink()) return problems;
  if (!st.isDirectory()) return [...problems, { path: home, problem: "is not a directory", fix: "set CC_EXECUTOR_HOME to a directory" }];
  if (st.mode & 0o077) problems.push({ path: home, problem: `mode ${(st.mode & 0o777).toString(8)}`, fix: `chmod 700 ${home}` });
  for (const name of entryNames(home)) {
    const path = join(home, name);
    let entry: Stats;
    try {
      entry = lstatSync(path);
    } catch {
      continue;
    }
    if (entry.isSymbolicLink()) continue;
    if (entry.mode & 0o077) problems.push({ path, problem: `mode ${(entry.mode & 0o777).toString(8)}`, fix: `chmod go-rwx ${path}` });
    if (me !== undefined && entry.uid !== me) problems.push({ path, problem: `owned by uid ${entry.uid}, not by you`, fix: `remove it or chown ${me} ${path}` });
  }
  return problems;
}

/**
 * Creates the state directory (0700) or tightens it and its top-level entries; returns what was
 * changed. Throws StateDirError when it belongs to another user: whoever owns it could read the
 * token or plant hooks.json.
 */
export function secureStateDir(home: string): string[] {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const st = lstatSync(home);
  const me = uid();
  if (me !== undefined && st.uid !== me) throw new StateDirError(`the state directory ${home} belongs to uid ${st.uid}, not to you (uid ${me}): its owner could read your token or plant hooks. Use a directory of your own (CC_EXECUTOR_HOME)`);
  const changed: string[] = [];
  // Group and other bits go; the owner's stay (an executable hook script stays executable).
  const tighten = (path: string, s: Stats) => {
    if ((s.mode & 0o077) === 0) return;
    chmodSync(path, s.mode & 0o700);
    changed.push(`${path}: ${(s.mode & 0o777).toString(8)} -> ${(s.mode & 0o700).toString(8)}`);
  };
  if (st.isDirectory()) tighten(home, st);
  for (const name of entryNames(home)) {
    const path = join(home, name);
    try {
      const entry = lstatSync(path);
      if (entry.isSymbolicLink() || (me !== undefined && entry.uid !== me)) continue;
      tighten(path, entry);
    } catch {
      // removed meanwhile, or not ours to change: doctor reports it
    }
  }
  return changed;
}

