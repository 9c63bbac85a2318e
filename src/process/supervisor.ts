import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { statSync } from "node:fs";
import type { Readable } from "node:stream";
import { silentLogger, type Logger } from "../logger.js";
import type { GroupRegistry } from "./group-registry.js";
import { containmentFor, prepareSpawn, SpawnPreparationError, type Containment, type PreparedSpawn } from "./containment.js";
import { PausableTimer } from "./pausable-timer.js";
import { resolveShell, type ShellPreference } from "./shell.js";
import { TailBuffer } from "./tail-buffer.js";
import { ReadBatch } from "./read-batch.js";
import { serverOnlyMallocEnv } from "./malloc-tuning.js";
import { Utf8Chunker } from "./utf8-chunker.js";
import { withUtf8Data } from "./utf8-text.js";

export type OutputStreamName = "stdout" | "stderr";
export type TerminalStatus = "completed" | "failed" | "timeout" | "canceled";

export interface SpawnSpec {
  /** A shell string (run by the chosen shell) or an argv array (run directly, no shell). */
  command: string | readonly string[];
  cwd?: string;
  /** Added to (and overriding) the server's environment. */
  env?: Record<string, string>;
  /** Environment variables removed from the child's environment (e.g. secrets of the server). */
  removeEnv?: readonly string[];
  shell?: ShellPreference;
  /** Wall-clock limit; time spent paused by the user is not counted. */
  timeoutMs?: number;
  /** Limit on time without any output; time blocked on a slow reader is not counted. */
  inactivityTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  /** Tail of each stream kept for the result. */
  maxBufferBytes?: number;
  /**
   * false: keep no tail (the result's stdout/stderr are empty) when the output only needs to be
   * streamed; byte counts and `truncated` (against maxBufferBytes) are reported all the same.
   */
  keepTail?: boolean;
  /** Largest output event, in bytes. */
  chunkBytes?: number;
  /** Upper bound on waiting for pipes to close after the group is gone (a daemon outside the group may hold them). */
  drainTimeoutMs?: number;
  registry?: GroupRegistry;
  logger?: Logger;
  /** Written to the child's stdin, which is then closed (default: stdin is /dev/null). */
  stdinText?: string;
}

export interface OutputChunk {
  stream: OutputStreamName;
  /** Decoded when first read; the UTF-8 bytes behind it are utf8BytesOf(chunk). */
  readonly data: string;
  chunkIndex: number;
  totalChunks: number;
  /** Increases by one per chunk over both streams. */
  seq: number;
  /** Whether this stream's result tail has dropped older output by now. */
  truncated: boolean;
}

export interface ProcessResult {
  status: TerminalStatus;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  stdout: string;
  stderr: string;
  stdoutBytes: number;
  stderrBytes: number;
  truncated: boolean;
  timeoutReason?: "timeout" | "inactivity";
}

export class SpawnError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "SpawnError";
  }
}

interface SupervisorEvents {
  output: [OutputChunk];
  paused: [];
  resumed: [];
  exit: [ProcessResult];
}

const DEFAULTS = {
  killGraceMs: 3000,
  maxBufferBytes: 8 * 1024 * 1024,
  chunkBytes: 64 * 1024,
  drainTimeoutMs: 2000,
};

/** The environment every child gets on top of the server's. */
const CHILD_ENV = { PYTHONUNBUFFERED: "1" };

/**
 * One command running in its own process group (its own session, stdin at /dev/null unless given), streaming
 * its output, killed as a whole group on timeout, inactivity or cancel, and never reported as
 * "completed" unless it exited 0 on its own.
 */
export class SupervisedProcess extends EventEmitter<SupervisorEvents> {
  readonly pid: number;
  readonly pgid: number;
  /** What holds its processes: its own cgroup, or its process group. */
  readonly containment: Containment;
  readonly startedAt = Date.now();
  /** Settles once, after the last output event. */
  readonly done: Promise<ProcessResult>;

  private state: "running" | "paused" | "stopping" | "exited" = "running";
  private endReason: "timeout" | "inactivity" | "canceled" | undefined;
  private outputPaused = false;
  private seq = 0;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private openStreams = 2;
  private readonly tails = { stdout: new TailBuffer(0), stderr: new TailBuffer(0) };
  private readonly timers: PausableTimer[] = [];
  private readonly inactivity: PausableTimer | undefined;
  private resolveDone!: (r: ProcessResult) => void;
  private terminating: Promise<unknown> | undefined;
  private groupGone: Promise<void> | undefined;
  private finishing = false;
  /** Reads of one turn of the event loop, emitted together (fewer, larger chunks from chatty processes). */
  private readonly batch: ReadBatch;

  /** @internal use startProcess() */
  constructor(
    private readonly child: ChildProcess,
    readonly command: string,
    private readonly spec: SpawnSpec,
    private readonly logger: Logger,
    private readonly prepared: PreparedSpawn,
  ) {
    super();
    this.pid = child.pid!;
    this.pgid = child.pid!;
    this.containment = containmentFor(this.pgid, prepared.cgroup);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    const maxBuffer = spec.maxBufferBytes ?? DEFAULTS.maxBufferBytes;
    const keep = spec.keepTail !== false;
    this.tails = { stdout: new TailBuffer(maxBuffer, keep), stderr: new TailBuffer(maxBuffer, keep) };
    if (prepared.recordId) spec.registry?.add({ id: prepared.recordId, pgid: this.pgid, cgroup: prepared.cgroup?.dir, command });

    if (spec.timeoutMs !== undefined) this.timers.push(new PausableTimer(spec.timeoutMs, () => this.expire("timeout")).start());
    if (spec.inactivityTimeoutMs !== undefined) {
      this.inactivity = new PausableTimer(spec.inactivityTimeoutMs, () => this.expire("inactivity")).start();
      this.timers.push(this.inactivity);
    }

    const chunkBytes = spec.chunkBytes ?? DEFAULTS.chunkBytes;
    const chunkers = { stdout: new Utf8Chunker(chunkBytes), stderr: new Utf8Chunker(chunkBytes) };
    this.batch = new ReadBatch((name, bytes) => this.emitPieces(name, chunkers[name].push(bytes)), chunkBytes);
    this.wire("stdout", child.stdout!, chunkers.stdout);
    this.wire("stderr", child.stderr!, chunkers.stderr);
    child.once("exit", (code, signal) => this.onLeaderExit(code, signal));
  }

  get running(): boolean {
    return this.state === "running" || this.state === "paused";
  }

  get paused(): boolean {
    return this.state === "paused";
  }

  /** Stops the whole execution (cgroup.freeze, or SIGSTOP to its group). Returns false when there is nothing to pause. */
  pause(): boolean {
    if (this.state !== "running") return false;
    if (!this.containment.pause()) return false;
    this.state = "paused";
    for (const t of this.timers) t.pause();
    this.emit("paused");
    return true;
  }

  /** Thaws it (SIGCONT to the group). */
  resume(): boolean {
    if (this.state !== "paused") return false;
    this.containment.resume();
    this.state = "running";
    for (const t of this.timers) if (t !== this.inactivity || !this.outputPaused) t.resume();
    this.emit("resumed");
    return true;
  }

  /** Terminates the whole execution (SIGTERM, grace, SIGKILL); the result has status "canceled". */
  cancel(): Promise<ProcessResult> {
    this.stop("canceled");
    return this.done;
  }

  /**
   * Backpressure from the consumer: stop reading the pipes (the child then blocks on write once
   * the pipe buffer is full), so memory stays bounded whatever the process prints.
   */
  pauseOutput(): void {
    if (this.outputPaused) return;
    this.outputPaused = true;
    this.child.stdout?.pause();
    this.child.stderr?.pause();
    this.inactivity?.pause();
  }

  resumeOutput(): void {
    if (!this.outputPaused) return;
    this.outputPaused = false;
    this.child.stdout?.resume();
    this.child.stderr?.resume();
    if (this.state === "running") this.inactivity?.resume();
  }

  private wire(name: OutputStreamName, stream: Readable, chunker: Utf8Chunker): void {
    stream.on("data", (buf: Buffer) => {
      this.tails[name].write(buf);
      this.inactivity?.touch();
      this.batch.add(name, buf);
    });
    stream.once("close", () => {
      this.batch.flush();
      this.emitPieces(name, chunker.end());
      this.openStreams--;
      this.maybeFinish();
    });
  }

  private emitPieces(stream: OutputStreamName, pieces: Buffer[]): void {
    const truncated = this.tails[stream].truncated;
    pieces.forEach((bytes, i) =>
      this.emit("output", withUtf8Data({ stream, chunkIndex: i, totalChunks: pieces.length, seq: this.seq++, truncated }, bytes)),
    );
  }

  private expire(reason: "timeout" | "inactivity"): void {
    this.logger.info({ pid: this.pid, reason }, reason === "timeout" ? "timeout reached; killing process group" : "no output for too long; killing process group");
    this.stop(reason);
  }

  private stop(reason: "timeout" | "inactivity" | "canceled"): void {
    if (this.endReason || this.state === "exited") return;
    this.endReason = reason;
    this.state = "stopping";
    this.terminating = this.containment.terminate(this.spec.killGraceMs ?? DEFAULTS.killGraceMs).catch(() => undefined);
  }

  private onLeaderExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exitInfo = { code, signal };
    for (const t of this.timers) t.clear();
    const grace = this.spec.killGraceMs ?? DEFAULTS.killGraceMs;
    // No orphans: whatever the command left running in its group (or its cgroup) goes with it.
    const cleanup = this.terminating ?? (this.containment.alive() ? this.containment.terminate(grace) : Promise.resolve());
    this.groupGone = cleanup
      .catch(() => undefined)
      .then(() => {
        // Nothing of it runs any more: the result need not wait for the kernel to let the cgroup go.
        // Its record is dropped once it is removed (until then crash reaping would find it).
        void this.containment
          .release()
          .catch(() => undefined)
          .then(() => {
            if (this.prepared.recordId) this.spec.registry?.remove(this.prepared.recordId);
          });
        // A daemon that left the group may still hold our pipes: stop waiting for them eventually.
        if (this.openStreams > 0) {
          setTimeout(() => {
            this.child.stdout?.destroy();
            this.child.stderr?.destroy();
          }, this.spec.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs).unref();
        }
      });
    void this.groupGone.then(() => this.maybeFinish());
  }

  /** Finishes once the leader exited, its group is gone and both pipes are drained, in whatever order. */
  private maybeFinish(): void {
    if (this.finishing || !this.groupGone || this.openStreams > 0) return;
    this.finishing = true;
    void this.groupGone.then(() => this.finish());
  }

  private finish(): void {
    this.state = "exited";
    const { code, signal } = this.exitInfo!;
    let status: TerminalStatus;
    if (this.endReason === "canceled") status = "canceled";
    else if (this.endReason === "timeout" || this.endReason === "inactivity") status = "timeout";
    else status = code === 0 ? "completed" : "failed";
    const result: ProcessResult = {
      status,
      exitCode: code,
      signal,
      durationMs: Date.now() - this.startedAt,
      stdout: this.tails.stdout.toString(),
      stderr: this.tails.stderr.toString(),
      stdoutBytes: this.tails.stdout.totalBytes,
      stderrBytes: this.tails.stderr.totalBytes,
      truncated: this.tails.stdout.truncated || this.tails.stderr.truncated,
    };
    if (this.endReason === "timeout" || this.endReason === "inactivity") result.timeoutReason = this.endReason;
    this.emit("exit", result);
    this.resolveDone(result);
  }
}

/** A readable one-line form of a command, for logs and notifications. */
export function displayCommand(command: string | readonly string[]): string {
  if (typeof command === "string") return command;
  return command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/**
 * Starts a command under supervision. Resolves once the process exists (its pid is known);
 * rejects with SpawnError when it cannot be started (missing cwd, missing binary, ...).
 */
export async function startProcess(spec: SpawnSpec): Promise<SupervisedProcess> {
  const logger = spec.logger ?? silentLogger;
  if (spec.cwd !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(spec.cwd).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) throw new SpawnError(`cwd does not exist or is not a directory: ${spec.cwd}`, "ENOENT");
  }
  const env: NodeJS.ProcessEnv = { ...process.env, ...spec.env, ...CHILD_ENV };
  // The server's own malloc tuning is not the command's; a value the request sets is kept.
  for (const name of serverOnlyMallocEnv(process.env)) if (spec.env?.[name] === undefined) delete env[name];
  for (const name of spec.removeEnv ?? []) delete env[name];

  let file: string;
  let args: string[];
  if (typeof spec.command === "string") {
    const shell = resolveShell(spec.shell ?? "default", logger);
    file = shell.path;
    args = ["-c", spec.command];
  } else {
    if (spec.command.length === 0) throw new SpawnError("empty argv");
    [file, ...args] = spec.command as string[];
  }

  let prepared: PreparedSpawn;
  try {
    prepared = await prepareSpawn(spec.registry, file!, args, env);
  } catch (err) {
    if (err instanceof SpawnPreparationError) throw new SpawnError(err.message, err.code);
    throw new SpawnError(`cannot contain ${file}: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code);
  }
  const child = spawn(prepared.file, prepared.args, {
    cwd: spec.cwd,
    env: prepared.env,
    detached: true, // setsid(): own session and process group, pgid = pid
    stdio: [spec.stdinText === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (err: NodeJS.ErrnoException) =>
        reject(new SpawnError(err.code === "ENOENT" ? `command not found: ${file}` : `cannot start ${file}: ${err.message}`, err.code)),
      );
    });
  } catch (err) {
    void prepared.cgroup?.remove();
    throw err;
  }
  if (child.stdin) {
    child.stdin.on("error", () => undefined); // a child that exits without reading it all (EPIPE) is not our failure
    child.stdin.end(spec.stdinText);
  }
  return new SupervisedProcess(child, displayCommand(spec.command), spec, logger, prepared);
}
