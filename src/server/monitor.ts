import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { statePaths } from "../paths.js";
import { ControlType, ErrorCodes, Notifications, parseParams, RpcError } from "../protocol/index.js";
import type { Store } from "../store/index.js";
import { checkpointPath, isRunId, listRunStates, loadRunState, RunNotFoundError, summarize } from "../tasks/index.js";
import type { TaskListSummary } from "../tasks/index.js";
import { VERSION } from "../version.js";
import type { ServerContext } from "./context.js";
import type { ExecutionInfo, ExecutionKind } from "./monitor-types.js";
import { Reply, type ActiveWork, type MethodHandler, type Session } from "./session.js";
import { interceptSink, type NotificationSink } from "./sink.js";

/**
 * The server-wide monitor behind the dashboard: it sees every execution (command, claude task,
 * task list) of every session by teeing the sink each one's notifications go to, keeps the running
 * ones and the last MAX_FINISHED finished ones with a bounded tail of their notifications, and lets
 * any session list them, watch one (replay of the tail, then live), and control it.
 */

export type { ExecutionInfo, ExecutionKind };

/** Finished executions kept (older ones are forgotten; the store keeps history). */
export const MAX_FINISHED = 200;
/** Output kept per execution for replay and download. */
export const TAIL_BYTES = 256 * 1024;
/** Other notifications kept per execution (task.*, claude.*, process.started ...), in bytes of JSON. */
const OTHER_BYTES = 256 * 1024;

interface Kept {
  /** 1, 2, 3 ... per execution: what a watcher has been sent. */
  seq: number;
  method: string;
  params: Record<string, unknown>;
  bytes: number;
  output: boolean;
}

interface Watcher {
  session: Session;
  /** The last kept notification sent to this watcher. */
  lastSeq: number;
  /** Notifications held back while the watcher's socket was backed up (sent again from the tail when it drains). */
  held: number;
  onDrain: () => void;
}

class Entry {
  status = "running";
  paused = false;
  readonly startedAt = Date.now();
  endedAt: number | undefined;
  pid: number | undefined;
  exitCode: number | null | undefined;
  errorType: string | undefined;
  kept: Kept[] = [];
  private seq = 0;
  outputBytes = 0;
  private keptOutput = 0;
  private keptOther = 0;
  tailTruncated = false;
  watchers = new Map<Session, Watcher>();
  progress: { total: number; done: Set<string>; failed: Set<string>; skipped: Set<string>; current?: string } | undefined;

  constructor(
    readonly id: string,
    readonly kind: ExecutionKind,
    readonly label: string,
    /** The session that started it; dropped when it ends. */
    public owner: Session | undefined,
    readonly sessionId: string,
  ) {
    if (kind === "task-list") this.progress = { total: 0, done: new Set(), failed: new Set(), skipped: new Set() };
  }

  get running(): boolean {
    return this.endedAt === undefined;
  }

  keep(method: string, params: Record<string, unknown>): Kept {
    const output = method === Notifications.processOutput;
    const bytes = output ? String(params.data ?? "").length : JSON.stringify(params).length;
    const ev: Kept = { seq: ++this.seq, method, params, bytes, output };
    this.kept.push(ev);
    if (output) {
      this.keptOutput += bytes;
      this.outputBytes += bytes;
    } else this.keptOther += bytes;
    if (this.keptOutput > TAIL_BYTES || this.keptOther > OTHER_BYTES) this.compact();
    return ev;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Drops the oldest kept notifications down to 3/4 of each budget (amortised: not on every notification). */
  private compact(): void {
    let dropOutput = this.keptOutput > TAIL_BYTES ? this.keptOutput - (TAIL_BYTES * 3) / 4 : 0;
    let dropOther = this.keptOther > OTHER_BYTES ? this.keptOther - (OTHER_BYTES * 3) / 4 : 0;
    this.kept = this.kept.filter((ev) => {
      if (ev.output && dropOutput > 0) {
        dropOutput -= ev.bytes;
        this.keptOutput -= ev.bytes;
        this.tailTruncated = true;
        return false;
      }
      if (!ev.output && dropOther > 0) {
        dropOther -= ev.bytes;
        this.keptOther -= ev.bytes;
        return false;
      }
      return true;
    });
  }

  info(): ExecutionInfo {
    const info: ExecutionInfo = {
      id: this.id,
      kind: this.kind,
      label: this.label,
      status: this.status,
      paused: this.paused,
      started_at: new Date(this.startedAt).toISOString(),
      ended_at: this.endedAt === undefined ? null : new Date(this.endedAt).toISOString(),
      duration_ms: (this.endedAt ?? Date.now()) - this.startedAt,
      session_id: this.sessionId,
      output_bytes: this.outputBytes,
      tail_truncated: this.tailTruncated,
      watchers: this.watchers.size,
    };
    if (this.pid !== undefined) info.pid = this.pid;
    if (this.exitCode !== undefined) info.exit_code = this.exitCode;
    if (this.errorType !== undefined) info.error_type = this.errorType;
    if (this.progress) {
      const p = this.progress;
      info.progress = { total: p.total, completed: p.done.size, failed: p.failed.size, skipped: p.skipped.size };
      if (p.current !== undefined && this.running) info.progress.current = p.current;
    }
    return info;
  }
}

const LABEL_MAX = 300;

function shortLabel(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > LABEL_MAX ? `${oneLine.slice(0, LABEL_MAX - 1)}…` : oneLine;
}

export class Monitor {
  private readonly entries = new Map<string, Entry>();
  /** Ids of finished entries, oldest end first. */
  private finishedOrder: string[] = [];
  private readonly subscribers = new Set<Session>();
  private readonly cleanupHooked = new WeakSet<Session>();
  /** The /health document; set by the server once it exists. */
  health: (() => object | Promise<object>) | undefined;

  constructor(private readonly ctx: ServerContext) {}

  /**
   * Returns a sink that records and forwards an execution's notifications to watchers, then passes
   * them on to `sink` unchanged. Call once per execution, where its sink is created. The execution
   * appears on its first notification (a task refused before it starts never does); hook warnings
   * sent before that are kept and appear with it.
   */
  tee(session: Session, sink: NotificationSink, info: { executionId: string; kind: ExecutionKind; label: string }): NotificationSink {
    let entry: Entry | undefined;
    const early: Array<[string, Record<string, unknown>]> = [];
    const record = (method: string, params: Record<string, unknown>) => {
      if (!entry) {
        if (method === Notifications.hookWarning && early.length < 20) return void early.push([method, params]);
        entry = this.open(session, info);
        for (const [m, p] of early.splice(0)) this.record(entry, m, p);
      }
      this.record(entry, method, params);
    };
    return interceptSink(sink, (method, params) => {
      try {
        record(method, params as Record<string, unknown>);
      } catch (err) {
        this.ctx.logger.warn({ err: (err as Error).message }, "monitor failed to record a notification");
      }
      sink.notify(method, params);
    });
  }

  private open(session: Session, info: { executionId: string; kind: ExecutionKind; label: string }): Entry {
    const previous = this.entries.get(info.executionId);
    const entry = new Entry(info.executionId, info.kind, shortLabel(info.label), session, session.id);
    if (previous) {
      // A resumed task list reuses its run id: the new run replaces the old entry, watchers follow it.
      this.finishedOrder = this.finishedOrder.filter((id) => id !== previous.id);
      for (const s of [...previous.watchers.keys()]) {
        this.removeWatcher(previous, s);
        this.addWatcher(entry, s, 0);
      }
    }
    this.entries.set(entry.id, entry);
    this.publish(entry);
    return entry;
  }

  private record(entry: Entry, method: string, params: Record<string, unknown>): void {
    this.forward(entry, entry.keep(method, params));
    let changed = false;
    switch (method) {
      case Notifications.processStarted:
        if (entry.kind !== "task-list" && typeof params.pid === "number") {
          entry.pid = params.pid;
          changed = true;
        }
        break;
      case Notifications.processPaused:
      case Notifications.processResumed:
        entry.paused = method === Notifications.processPaused;
        changed = true;
        break;
      case Notifications.processCompleted:
        if (entry.kind === "command") {
          entry.exitCode = (params.exit_code as number | null | undefined) ?? null;
          this.finish(entry, String(params.status ?? "unknown"));
        } else if (entry.kind === "claude") entry.paused = false;
        break;
      case Notifications.claudeCompleted:
        if (entry.kind === "claude") {
          const result = (params.result ?? {}) as { success?: boolean; error_type?: string };
          entry.errorType = result.error_type;
          const status = result.success ? "completed" : result.error_type === "timeout" || result.error_type === "canceled" ? result.error_type : "failed";
          this.finish(entry, status);
        }
        break;
      case Notifications.taskListStarted:
        if (entry.progress) {
          entry.progress.total = Number(params.total ?? 0);
          for (const id of (params.already_done as string[] | undefined) ?? []) entry.progress.done.add(id);
          changed = true;
        }
        break;
      case Notifications.taskStarted:
        if (entry.progress) {
          entry.progress.current = String(params.title ?? params.task_id ?? "");
          entry.paused = false;
          changed = true;
        }
        break;
      case Notifications.taskCompleted:
      case Notifications.taskFailed:
      case Notifications.taskSkipped: {
        const p = entry.progress;
        if (!p) break;
        const id = String(params.task_id);
        for (const set of [p.done, p.failed, p.skipped]) set.delete(id);
        const set = method === Notifications.taskSkipped ? p.skipped : params.status === "completed" ? p.done : p.failed;
        set.add(id);
        changed = true;
        break;
      }
      case Notifications.taskListCompleted:
        if (entry.kind === "task-list") this.finish(entry, String(params.status ?? "unknown"));
        break;
    }
    if (changed) this.publish(entry);
  }

  /**
   * Sends a notification to the execution's watchers. A watcher whose socket is backed up gets
   * nothing meanwhile (the process is never slowed down for a watcher); once it drains it gets what
   * it missed from the kept tail, in order, after a `monitor.dropped` saying how much was lost.
   */
  private forward(entry: Entry, ev: Kept): void {
    for (const w of entry.watchers.values()) {
      if (w.session.isClosed) {
        this.removeWatcher(entry, w.session);
        continue;
      }
      if (w.session.isCongested) {
        w.held++;
        continue;
      }
      if (w.held > 0) this.catchUp(entry, w, ev.seq);
      this.send(entry, w, ev);
    }
  }

  private send(entry: Entry, w: Watcher, ev: Kept, flag?: "replayed" | "resent"): void {
    w.session.notify(ev.method, flag ? { ...ev.params, watched_id: entry.id, [flag]: true } : { ...ev.params, watched_id: entry.id });
    w.lastSeq = ev.seq;
  }

  /** Sends a watcher the kept notifications it was not sent, up to (not including) `beforeSeq`. */
  private catchUp(entry: Entry, w: Watcher, beforeSeq: number): void {
    const missed = entry.kept.filter((k) => k.seq > w.lastSeq && k.seq < beforeSeq);
    const lost = Math.max(0, w.held - missed.length);
    w.session.notify("monitor.dropped", { watched_id: entry.id, held: w.held, resent: missed.length, lost });
    w.held = 0;
    for (const k of missed) this.send(entry, w, k, "resent");
  }

  private addWatcher(entry: Entry, session: Session, lastSeq: number): void {
    const w: Watcher = {
      session,
      lastSeq,
      held: 0,
      onDrain: () => {
        if (w.held > 0 && !session.isClosed && !session.isCongested && entry.watchers.get(session) === w) this.catchUp(entry, w, Infinity);
      },
    };
    entry.watchers.set(session, w);
    session.on("drain", w.onDrain);
  }

  private removeWatcher(entry: Entry, session: Session): boolean {
    const w = entry.watchers.get(session);
    if (!w) return false;
    entry.watchers.delete(session);
    session.off("drain", w.onDrain);
    return true;
  }

  private finish(entry: Entry, status: string): void {
    if (!entry.running) return;
    entry.status = status;
    entry.paused = false;
    entry.endedAt = Date.now();
    entry.owner = undefined;
    if (entry.progress) entry.progress.current = undefined;
    this.finishedOrder.push(entry.id);
    while (this.finishedOrder.length > MAX_FINISHED) {
      const old = this.entries.get(this.finishedOrder.shift()!);
      if (old && !old.running) {
        for (const session of [...old.watchers.keys()]) this.removeWatcher(old, session);
        this.entries.delete(old.id);
      }
    }
    this.publish(entry);
  }

  /** Sends `monitor.execution` to every session that asked for updates. */
  private publish(entry: Entry): void {
    if (this.subscribers.size === 0) return;
    const execution = entry.info();
    for (const s of this.subscribers) {
      if (s.isClosed) this.subscribers.delete(s);
      else s.notify("monitor.execution", { execution });
    }
  }

  private hookCleanup(session: Session): void {
    if (this.cleanupHooked.has(session)) return;
    this.cleanupHooked.add(session);
    session.once("closed", () => {
      this.subscribers.delete(session);
      for (const e of this.entries.values()) this.removeWatcher(e, session);
    });
  }

  /** The work object that pause/resume/cancel act on, while the execution runs. */
  private workOf(entry: Entry): ActiveWork | undefined {
    if (!entry.running) return undefined;
    const resumable = this.ctx.resumable.get(entry.id);
    if (resumable) return resumable;
    const active = entry.owner?.active;
    return active && active.executionId === entry.id ? active : undefined;
  }

  /** Running ones first (newest first), then finished ones (latest end first). */
  list(): ExecutionInfo[] {
    for (const e of this.entries.values()) {
      // Safety net: an execution whose owner is gone and which nobody runs any more ended unseen.
      if (e.running && e.owner?.isClosed && !this.workOf(e)) this.finish(e, "unknown");
    }
    const all = [...this.entries.values()];
    const running = all.filter((e) => e.running).sort((a, b) => b.startedAt - a.startedAt);
    const finished = all.filter((e) => !e.running).sort((a, b) => b.endedAt! - a.endedAt!);
    return [...running, ...finished].map((e) => e.info());
  }

  subscribe(session: Session): void {
    this.hookCleanup(session);
    this.subscribers.add(session);
  }

  unsubscribe(session: Session): void {
    this.subscribers.delete(session);
  }

  get(id: string): ExecutionInfo | undefined {
    return this.entries.get(id)?.info();
  }

  /**
   * Checks the execution exists and returns a function that replays its kept notifications and
   * registers the watcher (call it right after the response is sent).
   */
  watch(session: Session, id: string): { info: ExecutionInfo; replay: () => void } {
    const entry = this.entries.get(id);
    if (!entry) throw new RpcError(ErrorCodes.invalidParams, `Invalid params: execution_id: no execution ${id} is known to the monitor (finished too long ago, or unknown)`);
    this.hookCleanup(session);
    return {
      info: entry.info(),
      replay: () => {
        // Synchronous from replay to registration: no live notification can fall in between.
        const current = this.entries.get(id) ?? entry;
        this.removeWatcher(current, session);
        for (const ev of current.kept) session.notify(ev.method, { ...ev.params, watched_id: id, replayed: true });
        session.notify("monitor.replayed", { watched_id: id, replayed: current.kept.length, tail_truncated: current.tailTruncated });
        this.addWatcher(current, session, current.lastSeq);
        this.publish(current);
      },
    };
  }

  unwatch(session: Session, id: string): boolean {
    const entry = this.entries.get(id);
    const had = entry ? this.removeWatcher(entry, session) : false;
    if (entry && had) this.publish(entry);
    return had;
  }

  control(id: string, type: "PAUSE" | "RESUME" | "CANCEL"): { status: string; execution_id: string } {
    const entry = this.entries.get(id);
    if (!entry) throw new RpcError(ErrorCodes.invalidParams, `Invalid params: execution_id: no execution ${id} is known to the monitor`);
    const work = this.workOf(entry);
    if (!work) throw new RpcError(ErrorCodes.noProcess, `No process to control: execution ${id} is not running (${entry.status})`);
    switch (type) {
      case "PAUSE":
        if (!work.pause()) throw new RpcError(ErrorCodes.noProcess, "No process to pause: it is already paused or finishing");
        entry.paused = true;
        this.publish(entry);
        return { status: "paused", execution_id: id };
      case "RESUME":
        if (!work.resume()) throw new RpcError(ErrorCodes.noProcess, "No process to resume: it is not paused");
        entry.paused = false;
        this.publish(entry);
        return { status: "resumed", execution_id: id };
      case "CANCEL":
        void work.cancel();
        return { status: "canceled", execution_id: id };
    }
  }

  /**
   * The kept output of an execution as text (task lists: a header line before each task's output).
   * `truncated` says older output was dropped from the kept tail.
   */
  tailText(id: string): { text: string; truncated: boolean } | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const parts: string[] = [];
    for (const ev of entry.kept) {
      if (ev.output) parts.push(String(ev.params.data ?? ""));
      else if (ev.method === Notifications.taskStarted) parts.push(taskHeader(ev.params));
    }
    return { text: parts.join(""), truncated: entry.tailTruncated };
  }
}

/** The line put before each task's output in a task list's downloaded output. */
export function taskHeader(params: Record<string, unknown>): string {
  return `\n===== task ${String(params.index ?? "?")}: ${String(params.title ?? params.task_id ?? "")} (attempt ${String(params.attempt ?? 1)}) =====\n`;
}

const monitors = new WeakMap<ServerContext, Monitor>();

/** The server's monitor (one per ServerContext, created on first use). */
export function monitorFor(ctx: ServerContext): Monitor {
  let m = monitors.get(ctx);
  if (!m) monitors.set(ctx, (m = new Monitor(ctx)));
  return m;
}

/**
 * Tees an execution's sink into the monitor: call where the sink given to the work is created,
 * e.g. `streamProcess(monitorSink(ctx, session, channel ?? session, {...}), ...)`.
 */
export function monitorSink(ctx: ServerContext, session: Session, sink: NotificationSink, info: { executionId: string; kind: ExecutionKind; label: string }): NotificationSink {
  return monitorFor(ctx).tee(session, sink, info);
}

// ---- methods --------------------------------------------------------------------------------

const ExecutionIdParams = z.object({ execution_id: z.string().min(1).max(200) });
const ListParams = z.object({ subscribe: z.boolean().nullish() });
const MonitorControlParams = z.object({ execution_id: z.string().min(1).max(200), type: ControlType });
const TaskRunsListParams = z.object({ limit: z.number().int().min(1).max(1000).nullish() });
const TaskRunGetParams = z.object({ run_id: z.string().min(1).max(200) });
const HistoryListParams = z.object({
  limit: z.number().int().min(1).max(1000).nullish(),
  status: z.enum(["running", "completed", "failed", "timeout", "canceled"]).nullish(),
  kind: z.enum(["command", "claude", "task"]).nullish(),
  /** Only executions started before this time (epoch ms): the paging cursor. */
  before: z.number().nullish(),
  /** Case-insensitive text the label must contain. */
  q: z.string().max(500).nullish(),
});

/** A task-list run without its per-task rows (the list view). */
export type TaskRunInfo = Omit<TaskListSummary, "tasks"> & { live: boolean; resumable: boolean };

function runInfo(summary: TaskListSummary, live: boolean): TaskRunInfo {
  const { tasks: _tasks, ...rest } = summary;
  return { ...rest, live, resumable: !live && summary.resume_command !== undefined && summary.status !== "running" };
}

/** The history store, when the server has one (ctx.history.store, or ctx.store). */
function storeOf(ctx: ServerContext): Store | undefined {
  const loose = ctx as unknown as { store?: Store; history?: { store?: Store } };
  return loose.history?.store ?? loose.store;
}

/** monitor.*, task_runs.*, health and history.list: the dashboard's methods (usable by any client). */
export function monitorMethods(ctx: ServerContext): Array<[string, MethodHandler]> {
  const monitor = monitorFor(ctx);
  const home = ctx.config.home;
  const isLive = (id: string) => monitor.get(id)?.status === "running";
  return [
    [
      "monitor.list",
      (raw, session) => {
        const p = parseParams(ListParams, raw);
        if (p.subscribe === true) monitor.subscribe(session);
        else if (p.subscribe === false) monitor.unsubscribe(session);
        return { executions: monitor.list(), subscribed: p.subscribe === true };
      },
    ],
    [
      "monitor.watch",
      (raw, session) => {
        const { execution_id } = parseParams(ExecutionIdParams, raw);
        const w = monitor.watch(session, execution_id);
        return new Reply({ status: "watching", execution: w.info }, w.replay);
      },
    ],
    [
      "monitor.unwatch",
      (raw, session) => {
        const { execution_id } = parseParams(ExecutionIdParams, raw);
        return { status: "unwatched", execution_id, was_watching: monitor.unwatch(session, execution_id) };
      },
    ],
    [
      "monitor.control",
      (raw) => {
        const p = parseParams(MonitorControlParams, raw);
        return monitor.control(p.execution_id, p.type);
      },
    ],
    [
      "task_runs.list",
      (raw) => {
        const p = parseParams(TaskRunsListParams, raw);
        const runs = listRunStates(home)
          .slice(0, p.limit ?? 100)
          .map((s) => runInfo(summarize(s, checkpointPath(home, s.run_id)), isLive(s.run_id)));
        return { runs };
      },
    ],
    [
      "task_runs.get",
      (raw) => {
        const { run_id } = parseParams(TaskRunGetParams, raw);
        if (!isRunId(run_id)) throw new RpcError(ErrorCodes.invalidParams, "Invalid params: run_id: must be a task-list run id (tl-...)");
        try {
          const state = loadRunState(home, run_id);
          const summary = summarize(state, checkpointPath(home, run_id));
          const live = isLive(run_id);
          return { run: summary, live, resumable: runInfo(summary, live).resumable };
        } catch (err) {
          if (err instanceof RunNotFoundError) throw new RpcError(ErrorCodes.invalidParams, `Invalid params: ${err.message}`);
          throw err;
        }
      },
    ],
    ["health", () => monitor.health?.() ?? { status: "healthy", service: "cc-executor", version: VERSION }],
    [
      "history.list",
      async (raw) => {
        const p = parseParams(HistoryListParams, raw);
        const store = storeOf(ctx);
        if (!store) throw new RpcError(ErrorCodes.methodNotFound, "Method not found: history.list (this server keeps no execution history: no store is configured)");
        const limit = p.limit ?? 100;
        const q = p.q?.trim().toLowerCase();
        const query = { limit: q ? 1000 : limit, status: p.status ?? undefined, kind: p.kind ?? undefined, before: p.before ?? undefined };
        let executions = await store.listExecutions(query);
        if (q) executions = executions.filter((e) => e.label.toLowerCase().includes(q) || e.id.includes(q)).slice(0, limit);
        return { executions };
      },
    ],
  ];
}

/** Where the complete notification log of a resumable execution or task list is (when it exists). */
export function eventsFile(ctx: ServerContext, executionId: string): string | undefined {
  if (!/^[\w-]{1,200}$/.test(executionId)) return undefined;
  const path = join(statePaths(ctx.config.home).runsDir, executionId, "events.jsonl");
  return existsSync(path) ? path : undefined;
}
