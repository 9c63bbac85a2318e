import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { finished, spawnCli, type CliRun } from "./cli.js";
import { freePort } from "./ports.js";

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

/**
 * The real CLI server in its own process, for tests that measure or kill the server itself. Its
 * port is one the kernel just reported free, unless given; should another process take it
 * meanwhile (this server then exits, and /health answers for the other one), it is started again
 * on another port: a test never talks to some other server.
 */
export async function spawnServerProcess(env: NodeJS.ProcessEnv = {}, options: { home?: string; cwd?: string; port?: number } = {}): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const started = await startOnce(env, options, port);
    if (started !== "port taken") return started;
    if (options.port !== undefined || attempt === 5) throw new Error(`server did not start: port ${port} is taken by another process`);
  }
}

async function startOnce(env: NodeJS.ProcessEnv, options: { home?: string; cwd?: string }, port: number): Promise<ServerProcess | "port taken"> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), "cce-srv-"));
  const child = spawnCli(["server", "start", "--port", String(port), "--home", home, "--log-level", "warn"], { env, cwd: options.cwd });
  const exited = finished(child, 600_000);
  // generous: on a loaded two-core machine a cold Node start plus the SQLite open can take a while
  const deadline = Date.now() + 40_000;
  for (;;) {
    // Ours only once its token file exists and the full /health (which needs it) names its pid.
    const token = env.CC_EXECUTOR_TOKEN ?? readToken(home);
    if (token && child.exitCode === null) {
      const pid = await healthPid(port, token); // undefined while it is not answering yet
      if (pid === child.pid) {
        const stop = () => {
          child.kill("SIGTERM");
          return exited;
        };
        return { child, pid: child.pid!, port, home, url: `ws://127.0.0.1:${port}/ws/mcp`, token, exited, stop };
      }
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      const run = await Promise.race([exited, Promise.resolve(undefined)]);
      if (child.exitCode !== null && /in use|EADDRINUSE/i.test(run?.stderr ?? "")) return "port taken";
      child.kill("SIGKILL");
      throw new Error(`server did not start: ${JSON.stringify(run)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function readToken(home: string): string | undefined {
  try {
    return readFileSync(join(home, "token"), "utf8").trim();
  } catch {
    return undefined;
  }
}

async function healthPid(port: number, token: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { headers: { authorization: `Bearer ${token}` } });
    return res.ok ? ((await res.json()) as { pid?: number }).pid : undefined;
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in bytes, from /proc. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}
