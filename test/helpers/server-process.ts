import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { finished, spawnCli, type CliRun } from "./cli.js";

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  home: string;
  url: string;
  token: string;
  exited: Promise<CliRun>;
  stop(): Promise<CliRun>;
}

/** The real CLI server in its own process, for tests that measure or kill the server itself. */
export async function spawnServerProcess(env: NodeJS.ProcessEnv = {}, options: { home?: string; cwd?: string; port?: number } = {}): Promise<ServerProcess> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), "cce-srv-"));
  const port = options.port ?? 20000 + Math.floor(Math.random() * 30000);
  const child = spawnCli(["server", "start", "--port", String(port), "--home", home, "--log-level", "warn"], { env, cwd: options.cwd });
  const exited = finished(child, 600_000);
  // generous: on a loaded two-core machine a cold Node start plus the SQLite open can take a while
  const deadline = Date.now() + 40_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start: ${JSON.stringify(await Promise.race([exited, Promise.resolve(undefined)]))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    pid: child.pid!,
    port,
    home,
    url: `ws://127.0.0.1:${port}/ws/mcp`,
    token: env.CC_EXECUTOR_TOKEN ?? readFileSync(join(home, "token"), "utf8").trim(),
    exited,
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Resident set size of a process in bytes, from /proc. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}
