import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnCli } from "../helpers/cli.js";

/** A `cc-executor worker` process started from the built CLI. */
export interface CliWorker {
  name: string;
  home: string;
  child: ChildProcess;
  stderr(): string;
  /** Log records (JSON lines) the worker wrote on stderr. */
  logs(): Array<Record<string, any>>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface WorkerSpec {
  redisUrl: string;
  queueName: string;
  name: string;
  home: string;
  concurrency?: number;
  /** Extra CLI flags. */
  args?: string[];
  env?: Record<string, string>;
}

/** Fast stall detection for tests: a killed worker's job is taken over within a few seconds. */
export const FAST_STALL = ["--lock-duration", "2500", "--stalled-interval", "1000"];

export async function startCliWorker(spec: WorkerSpec): Promise<CliWorker> {
  const child = spawnCli(["worker", "--name", spec.name, "--concurrency", String(spec.concurrency ?? 2), ...FAST_STALL, ...(spec.args ?? [])], {
    env: { REDIS_URL: spec.redisUrl, CC_EXECUTOR_QUEUE: spec.queueName, CC_EXECUTOR_HOME: spec.home, LOG_LEVEL: "info", ...spec.env },
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const worker: CliWorker = {
    name: spec.name,
    home: spec.home,
    child,
    stderr: () => stderr,
    logs: () =>
      stderr
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .flatMap((l) => {
          try {
            return [JSON.parse(l)];
          } catch {
            return [];
          }
        }),
    exited,
  };
  const deadline = Date.now() + 15_000;
  while (!stderr.includes(`worker ${spec.name} ready`)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker ${spec.name} exited before it was ready: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`worker ${spec.name} not ready after 15 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return worker;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopWorker(w: CliWorker, graceMs = 8000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return w.exited;
  w.child.kill("SIGTERM");
  const timer = setTimeout(() => w.child.kill("SIGKILL"), graceMs);
  const result = await w.exited;
  clearTimeout(timer);
  return result;
}

export function tempDir(prefix = "cce-q-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Lines of a log file that tasks append to (missing file: none). */
export function readLines(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** A unique queue name per test file, so that files running at once never share jobs. */
export function uniqueQueue(tag: string): string {
  return `cce-test-${tag}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
}
