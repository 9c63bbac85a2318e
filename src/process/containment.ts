import { accessSync, constants } from "node:fs";
import { ExecutionCgroup } from "./cgroup.js";
import { SPAWN_ID_ENV } from "./group-journal.js";
import type { GroupRegistry } from "./group-registry.js";
import { groupExists, signalGroup, terminateGroup } from "./process-group.js";
import { findExecutable } from "./shell.js";

/**
 * What holds one execution's processes, and how to stop, freeze and kill all of them: its own
 * cgroup where cgroup v2 is writable (Linux), else its process group.
 */
export interface Containment {
  readonly kind: "cgroup" | "process-group";
  /** Stops every process (cgroup.freeze, or SIGSTOP to the group). False when nothing is left. */
  pause(): boolean;
  resume(): void;
  /** Whether any of its processes still runs. */
  alive(): boolean;
  /** SIGTERM to all, SIGKILL (cgroup.kill) after `graceMs` if anything is left. */
  terminate(graceMs: number): Promise<"gone" | "killed">;
  /** Once nothing runs: removes what is left of it (the cgroup directory). */
  release(): Promise<void>;
}

class ProcessGroupContainment implements Containment {
  readonly kind = "process-group";
  constructor(private readonly pgid: number) {}
  pause(): boolean {
    return signalGroup(this.pgid, "SIGSTOP");
  }
  resume(): void {
    signalGroup(this.pgid, "SIGCONT");
  }
  alive(): boolean {
    return groupExists(this.pgid);
  }
  terminate(graceMs: number): Promise<"gone" | "killed"> {
    return terminateGroup(this.pgid, graceMs);
  }
  async release(): Promise<void> {}
}

/**
 * Everything the execution started is in the cgroup, also processes that left the group (setsid).
 * The leader joins its cgroup a moment after it was spawned (the wrapper's first act, before it
 * can fork), so until then its process group is what reaches it: both are signalled.
 */
class CgroupContainment implements Containment {
  readonly kind = "cgroup";
  constructor(
    private readonly pgid: number,
    private readonly cgroup: ExecutionCgroup,
  ) {}
  pause(): boolean {
    return this.cgroup.freeze(true); // a leader that joins later joins frozen
  }
  resume(): void {
    this.cgroup.freeze(false);
  }
  alive(): boolean {
    return this.cgroup.populated() || groupExists(this.pgid);
  }
  terminate(graceMs: number): Promise<"gone" | "killed"> {
    return this.cgroup.terminate(graceMs, this.pgid);
  }
  async release(): Promise<void> {
    await this.cgroup.remove();
  }
}

export class SpawnPreparationError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** How to spawn one command, contained: possibly wrapped to join its cgroup, with its record id in the environment. */
export interface PreparedSpawn {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The record id (also CC_EXECUTOR_SPAWN_ID), when a registry records it. */
  recordId?: string;
  cgroup?: ExecutionCgroup;
}

/**
 * The wrapper that joins the cgroup execs the command, so a missing or non-executable program
 * would only show as exit 127/126: look first, and fail as a spawn would (ENOENT / EACCES).
 */
function checkExecutable(file: string, env: NodeJS.ProcessEnv): void {
  if (file.includes("/")) {
    try {
      accessSync(file, constants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "ENOENT";
      throw new SpawnPreparationError(code === "ENOENT" ? `command not found: ${file}` : `cannot start ${file}: ${code}`, code);
    }
  } else if (!findExecutable(file, env.PATH ?? "")) throw new SpawnPreparationError(`command not found: ${file}`, "ENOENT");
}

/**
 * Prepares a spawn: gives it a record id (in CC_EXECUTOR_SPAWN_ID, inherited by everything it
 * starts, so that crash reaping can tell its processes from others), and where cgroups are
 * available creates its cgroup and wraps the command so that it joins it before it can fork.
 */
export async function prepareSpawn(registry: GroupRegistry | undefined, file: string, args: string[], env: NodeJS.ProcessEnv): Promise<PreparedSpawn> {
  if (!registry) return { file, args, env };
  const recordId = registry.nextId();
  env[SPAWN_ID_ENV] = recordId;
  const support = registry.cgroups();
  if (!support) return { file, args, env, recordId };
  checkExecutable(file, env);
  const cgroup = await ExecutionCgroup.create(support);
  return { ...cgroup.wrap(file, args), env, recordId, cgroup };
}

export function containmentFor(pgid: number, cgroup: ExecutionCgroup | undefined): Containment {
  return cgroup ? new CgroupContainment(pgid, cgroup) : new ProcessGroupContainment(pgid);
}
