import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { mkdir, rmdir, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { groupExists, signalGroup } from "./process-group.js";
import { processStartTime } from "./process-table.js";
import { subdirectoryNames, subdirectoryPaths } from "../dir-entries.js";

/**
 * cgroup v2 containment: each execution in its own cgroup, so that everything it starts — also a
 * process that left its process group with setsid — is found, frozen and killed by the kernel.
 * Linux only; used where a writable cgroup v2 hierarchy exists (root, or a subtree delegated by
 * systemd), else callers fall back to process groups.
 */

/** Optional per-execution limits (cgroup v2 pids.max and memory.max). */
export interface CgroupLimits {
  pidsMax?: number;
  /** Bytes. */
  memoryMax?: number;
}

export type CgroupSupport =
  | {
      available: true;
      /** This process's executions: <scopeDir>/<pid>-<start time>. */
      ownerDir: string;
      /** <own cgroup>/cc-executor/<scope>: the executions of every process using one state directory. */
      scopeDir: string;
      /** Limits applied to each execution; `limitsUnavailable` says why configured ones are not. */
      limits: CgroupLimits;
      limitsUnavailable?: string;
      /** Where the hierarchy is mounted, and whether with favordynmods (see findCgroup2Mount). */
      mountPoint: string;
      favordynmods: boolean;
    }
  | { available: false; reason: string };

/** The directory name (in the base) of a process's executions: its pid and kernel start time. */
export function ownerDirName(pid: number, startTime: number | undefined): string {
  return `${pid}-${startTime ?? "unknown"}`;
}

/**
 * Where the cgroup v2 hierarchy is mounted, from /proc/self/mountinfo; undefined without one.
 * `favordynmods` (Linux >= 6.0, a super-block option): without it every move of a process into a
 * cgroup waits for an RCU grace period in the kernel (1-2 ms of wall time per execution here).
 */
export function findCgroup2Mount(mountinfo: string): { mountPoint: string; root: string; readOnly: boolean; favordynmods: boolean } | undefined {
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!left || !right || right.split(" ")[0] !== "cgroup2") continue;
    const f = left.split(" ");
    const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    const superOptions = (right.split(" ")[2] ?? "").split(",");
    return { root: unescape(f[3]!), mountPoint: unescape(f[4]!), readOnly: f[5]!.split(",").includes("ro"), favordynmods: superOptions.includes("favordynmods") };
  }
  return undefined;
}

/** This process's cgroup v2 directory, or why there is none. */
export function ownCgroupDir(): ReturnType<typeof cgroupDirOf> {
  return cgroupDirOf("self");
}

/** The cgroup v2 directory of a process ("self" or a pid), or why there is none. */
export function cgroupDirOf(pid: number | "self"): { dir: string; mountPoint: string; favordynmods: boolean } | { reason: string } {
  if (process.platform !== "linux") return { reason: `cgroups are Linux-only (this is ${process.platform})` };
  let mount;
  let path: string | undefined;
  try {
    mount = findCgroup2Mount(readFileSync("/proc/self/mountinfo", "utf8"));
    path = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.[1];
  } catch (err) {
    return { reason: `cannot read /proc: ${(err as Error).message}` };
  }
  if (!mount) return { reason: "no cgroup v2 hierarchy is mounted" };
  if (mount.readOnly) return { reason: `the cgroup v2 hierarchy at ${mount.mountPoint} is mounted read-only` };
  if (path === undefined) return { reason: `process ${pid} is in no cgroup v2 (no 0:: line in /proc/${pid}/cgroup)` };
  // Without a cgroup namespace the mount's root may be a subtree of the path we are in.
  const rel = mount.root !== "/" && path.startsWith(mount.root) ? path.slice(mount.root.length) : path;
  const dir = join(mount.mountPoint, rel);
  if (!existsSync(dir)) return { reason: `cgroup ${path} is not visible under ${mount.mountPoint}` };
  return { dir, mountPoint: mount.mountPoint, favordynmods: mount.favordynmods };
}

/** Whether a process sits in a frozen cgroup (cgroup.freeze took effect: "frozen 1" in cgroup.events). */
export function inFrozenCgroup(pid: number): boolean {
  const where = cgroupDirOf(pid);
  if (!("dir" in where)) return false;
  try {
    return /^frozen 1$/m.test(readFileSync(join(where.dir, "cgroup.events"), "utf8"));
  } catch {
    return false;
  }
}

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

/** rmdir of an empty cgroup; false when it is still busy or cannot be removed. */
export function removeCgroupDirSync(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/** rmdir, retried for a while: a cgroup stays busy until the kernel has released its last process. */
export async function removeCgroupDir(dir: string, timeoutMs = 2000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await rmdir(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return true;
      if (code !== "EBUSY" || Date.now() > deadline) return false;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Turns controllers on for the children of each directory, top down; the first failure says why limits cannot apply. */
function enableControllers(dirs: string[], controllers: string[]): string | undefined {
  for (const dir of dirs) {
    let available: string[];
    let enabled: string[];
    try {
      available = readFileSync(join(dir, "cgroup.controllers"), "utf8").trim().split(/\s+/);
      enabled = readFileSync(join(dir, "cgroup.subtree_control"), "utf8").trim().split(/\s+/);
    } catch (err) {
      return `cannot read the controllers of ${dir}: ${errText(err)}`;
    }
    for (const c of controllers) {
      if (!available.includes(c)) return `the ${c} controller is not available to ${dir} (available: ${available.filter(Boolean).join(" ") || "none"}; on a hybrid cgroup v1/v2 system it belongs to v1)`;
      if (enabled.includes(c)) continue;
      try {
        writeFileSync(join(dir, "cgroup.subtree_control"), `+${c}`);
      } catch (err) {
        const why = errText(err) === "EBUSY" ? "it holds processes itself (run the server in a delegated subtree)" : errText(err);
        return `cannot enable the ${c} controller below ${dir}: ${why}`;
      }
    }
  }
  return undefined;
}

/** Moves a throw-away shell into a probe cgroup: the only sure test that we may move processes here. */
function probeMove(ownerDir: string): string | undefined {
  const probe = join(ownerDir, "probe");
  try {
    mkdirSync(probe);
  } catch (err) {
    return `cannot create a cgroup in ${ownerDir}: ${errText(err)}`;
  }
  try {
    const r = spawnSync("/bin/sh", ["-c", 'echo $$ > "$1"', "cc-executor-cgroup-probe", join(probe, "cgroup.procs")], { stdio: ["ignore", "ignore", "pipe"], timeout: 5000 });
    if (r.status !== 0) return `cannot move a process into ${probe}: ${r.stderr?.toString().trim() || r.error?.message || `exit ${r.status}`}`;
    return undefined;
  } finally {
    // Startup only: wait (at most 200 ms) for the kernel to release the probe's exited shell.
    for (let i = 0; i < 40 && !removeCgroupDirSync(probe); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
}

const cache = new Map<string, CgroupSupport>();

/** The cgroup scope of a state directory: executions of processes on other state directories are never touched. */
export function cgroupScope(stateDir: string): string {
  return createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 12);
}

/**
 * Whether executions can have their own cgroups here, found once per process, scope and set of
 * limits: a cgroup v2 mount from /proc/self/mountinfo, our cgroup from /proc/self/cgroup,
 * cgroup.kill (Linux >= 5.14), and a real move of a probe process into a cgroup we create.
 */
export function cgroupSupport(limits: CgroupLimits = {}, scope = "default"): CgroupSupport {
  const key = JSON.stringify([limits, scope]);
  let support = cache.get(key);
  if (!support) {
    support = detect(limits, scope);
    cache.set(key, support);
  }
  return support;
}

function detect(limits: CgroupLimits, scope: string): CgroupSupport {
  const own = ownCgroupDir();
  if ("reason" in own) return { available: false, reason: own.reason };
  try {
    accessSync(join(own.dir, "cgroup.procs"), constants.W_OK);
  } catch {
    return { available: false, reason: `our cgroup ${own.dir} is not writable (not root and not a delegated subtree)` };
  }
  const base = join(own.dir, "cc-executor");
  const scopeDir = join(base, scope);
  const ownerDir = join(scopeDir, ownerDirName(process.pid, processStartTime(process.pid)));
  try {
    mkdirSync(ownerDir, { recursive: true });
  } catch (err) {
    return { available: false, reason: `cannot create ${ownerDir}: ${errText(err)}` };
  }
  // (The root cgroup has no cgroup.kill of its own: look in one we created.)
  if (!existsSync(join(ownerDir, "cgroup.kill"))) {
    removeCgroupDirSync(ownerDir);
    return { available: false, reason: "this kernel has no cgroup.kill (Linux 5.14 or later is needed)" };
  }
  const probeFailure = probeMove(ownerDir);
  if (probeFailure) {
    removeCgroupDirSync(ownerDir);
    return { available: false, reason: probeFailure };
  }
  // At exit: the spare and cgroups whose removal was still under way (a busy one, still running
  // something, stays for the next start to reap); the scope goes when no other process uses it.
  process.once("exit", () => {
    for (const dir of subdirectoryPaths(ownerDir)) removeCgroupDirSync(dir);
    if (removeCgroupDirSync(ownerDir)) removeCgroupDirSync(scopeDir);
  });
  const wanted = [...(limits.pidsMax !== undefined ? ["pids"] : []), ...(limits.memoryMax !== undefined ? ["memory"] : [])];
  const limitsUnavailable = wanted.length ? enableControllers([own.dir, base, scopeDir, ownerDir], wanted) : undefined;
  return {
    available: true,
    ownerDir,
    scopeDir,
    limits: limitsUnavailable ? {} : limits,
    ...(limitsUnavailable ? { limitsUnavailable } : {}),
    mountPoint: own.mountPoint,
    favordynmods: own.favordynmods,
  };
}

function readEvents(dir: string): Record<string, string> | undefined {
  try {
    return Object.fromEntries(
      readFileSync(join(dir, "cgroup.events"), "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split(" ") as [string, string]),
    );
  } catch {
    return undefined;
  }
}

/**
 * The next execution's cgroup for each cgroup support (owner directory and limits), made ahead of
 * time so that an execute does not wait for the mkdir: `dir` once it exists, `making` meanwhile.
 */
const spares = new Map<CgroupSupport, { dir?: string; making: boolean }>();
let cgroupCount = 0;

/** mkdir of a new execution cgroup with the limits applied. */
async function makeCgroupDir(support: Extract<CgroupSupport, { available: true }>): Promise<string> {
  const dir = join(support.ownerDir, `e${++cgroupCount}`);
  await mkdir(dir);
  try {
    if (support.limits.pidsMax !== undefined) await writeFile(join(dir, "pids.max"), String(support.limits.pidsMax));
    if (support.limits.memoryMax !== undefined) await writeFile(join(dir, "memory.max"), String(support.limits.memoryMax));
  } catch (err) {
    await rmdir(dir).catch(() => undefined);
    throw err;
  }
  return dir;
}

/** Starts making the owner's spare cgroup unless one exists or is being made; failures just leave none. */
function prepareSpare(support: Extract<CgroupSupport, { available: true }>): void {
  const spare = spares.get(support) ?? { making: false };
  spares.set(support, spare);
  if (spare.dir || spare.making) return;
  spare.making = true;
  makeCgroupDir(support)
    .then((dir) => void (spare.dir = dir))
    .catch(() => undefined)
    .finally(() => (spare.making = false));
}

/** One execution's cgroup. */
export class ExecutionCgroup {
  private constructor(readonly dir: string) {}

  /**
   * A new cgroup for an execution (before its process is spawned), with the limits applied: the
   * spare made ahead of time when there is one, else made now; then the next spare is started.
   * A mkdir in cgroupfs takes the kernel 0.15-0.5 ms, which the execute need not wait for.
   */
  static async create(support: Extract<CgroupSupport, { available: true }>): Promise<ExecutionCgroup> {
    const spare = spares.get(support);
    let dir = spare?.dir;
    if (spare) spare.dir = undefined;
    dir ??= await makeCgroupDir(support);
    prepareSpare(support);
    return new ExecutionCgroup(dir);
  }

  /** An existing cgroup (a leftover found after a crash). */
  static at(dir: string): ExecutionCgroup {
    return new ExecutionCgroup(dir);
  }

  /**
   * The argv that runs `file args` inside this cgroup: a POSIX shell writes its own pid to
   * cgroup.procs, then execs the command (same pid, so the same process group), before the
   * command can fork. The command and its arguments are positional parameters of the shell,
   * never parsed by it. Refuses to run the command (exit 125) when it cannot join.
   */
  wrap(file: string, args: readonly string[]): { file: string; args: string[] } {
    const script = 'echo $$ > "$1" || { echo "cc-executor: cannot join cgroup $1" >&2; exit 125; }; shift; exec "$@"';
    return { file: "/bin/sh", args: ["-c", script, "cc-executor-cgroup", join(this.dir, "cgroup.procs"), file, ...args] };
  }

  /** Pids in the cgroup now. */
  members(): number[] {
    try {
      return readFileSync(join(this.dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Whether any process is still in it (or a descendant cgroup). */
  populated(): boolean {
    return readEvents(this.dir)?.populated === "1";
  }

  exists(): boolean {
    return existsSync(this.dir);
  }

  /** cgroup.freeze: stops every process of the execution without signals; false when gone. */
  freeze(frozen: boolean): boolean {
    try {
      writeFileSync(join(this.dir, "cgroup.freeze"), frozen ? "1" : "0");
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILL to every process in the cgroup (cgroup.kill), whatever session or group it is in. */
  kill(): void {
    try {
      writeFileSync(join(this.dir, "cgroup.kill"), "1");
    } catch {
      // gone already
    }
  }

  /** Sends a signal to each process in the cgroup (what cgroup.kill does for SIGKILL, for the gentle first step). */
  signalAll(signal: NodeJS.Signals): void {
    for (const pid of this.members()) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  }

  /**
   * SIGTERM to everything in the cgroup (thawed first, so that it can act on it), cgroup.kill
   * after `graceMs` if anything is left; resolves once it is empty (or a last bounded wait ended).
   * `pgid`: the execution's process group, signalled too — its leader joins the cgroup a moment
   * after it was spawned, and until then only the group reaches it.
   */
  async terminate(graceMs: number, pgid?: number): Promise<"gone" | "killed"> {
    const alive = () => this.populated() || (pgid !== undefined && groupExists(pgid));
    if (!alive()) return "gone";
    this.freeze(false);
    for (const signal of ["SIGTERM", "SIGCONT"] as const) {
      if (pgid !== undefined) signalGroup(pgid, signal);
      this.signalAll(signal);
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(25, graceMs)));
      if (!alive()) return "gone";
    }
    this.kill();
    if (pgid !== undefined) signalGroup(pgid, "SIGKILL");
    const killDeadline = Date.now() + 2000;
    while (this.populated() && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 10));
    return "killed";
  }

  /** Removes the cgroup once the kernel has released its last process. */
  remove(): Promise<boolean> {
    return removeCgroupDir(this.dir);
  }
}

/** Executions' cgroups left in `base` by processes that are gone, with their owner directories. */
export function leftoverOwnerDirs(base: string, isOwnerAlive: (pid: number, startTime: string) => boolean): Array<{ ownerDir: string; cgroups: string[] }> {
  const owners = subdirectoryNames(base);
  const out: Array<{ ownerDir: string; cgroups: string[] }> = [];
  for (const name of owners) {
    const m = /^(\d+)-(\d+|unknown)$/.exec(name);
    if (!m || isOwnerAlive(Number(m[1]), m[2]!)) continue;
    const ownerDir = join(base, name);
    out.push({ ownerDir, cgroups: subdirectoryPaths(ownerDir) }); // none when removed meanwhile
  }
  return out;
}
