import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const OWNER = fileURLToPath(new URL("../fixtures/group-owner.ts", import.meta.url));

export interface GroupOwner {
  child: ChildProcess;
  pgid: number;
  /** The execution's cgroup, when it got one. */
  cgroup?: string;
  containment: "cgroup" | "process-group";
}

/**
 * Starts a process that runs `command` under a GroupRegistry on `dir` and idles (what a server is to
 * its executions); resolves once the execution is recorded. Pushes a cleanup that kills the owner
 * and whatever its execution left, for the test's afterEach.
 */
export async function startGroupOwner(dir: string, containment: "auto" | "process-group", command: string, cleanups: Array<() => void>): Promise<GroupOwner> {
  const child = spawn(process.execPath, ["--import", "tsx", OWNER, dir, containment, command], { stdio: ["ignore", "pipe", "inherit"] });
  cleanups.push(() => child.kill("SIGKILL"));
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0]!);
    });
    child.once("exit", (code) => reject(new Error(`group owner exited (${code}) before it started its command`)));
  });
  const info = JSON.parse(line) as Omit<GroupOwner, "child">;
  cleanups.push(() => {
    if (info.cgroup && existsSync(info.cgroup)) writeFileSync(join(info.cgroup, "cgroup.kill"), "1");
    try {
      process.kill(-info.pgid, "SIGKILL");
    } catch {
      // gone
    }
  });
  return { child, ...info };
}

/** Kills the owner with SIGKILL (a crash) and waits until it is gone. */
export async function crash(owner: GroupOwner): Promise<void> {
  if (owner.child.exitCode === null && owner.child.signalCode === null) {
    const exited = new Promise((r) => owner.child.once("exit", r));
    owner.child.kill("SIGKILL");
    await exited;
  }
}
