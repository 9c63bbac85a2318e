import { Notifications, RpcError, ErrorCodes } from "../protocol/index.js";
import type { ServerContext } from "./context.js";
import { Entry, shortLabel, taskHeader } from "./monitor-entry.js";
import { SubscriberFanout, WatchFanout } from "./monitor-fanout.js";
import type { ExecutionInfo, ExecutionKind } from "./monitor-types.js";
import type { ActiveWork, Session } from "./session.js";
import { interceptSink, type NotificationSink } from "./sink.js";

/**
 * The server-wide monitor behind the dashboard: it sees every execution (command, claude task,
 * task list) of every session by teeing the sink each one's notifications go to, keeps the running
 * ones and the last MAX_FINISHED finished ones with a bounded tail of their notifications, and lets
 * any session list them, watch one (replay of the tail, then live), and control it. Delivery to the
 * watching and subscribed sessions is in monitor-fanout.ts, the RPC methods in monitor-methods.ts.
 */

export type { ExecutionInfo, ExecutionKind };
export { taskHeader };

/** Finished executions kept (older ones are forgotten; the store keeps history). */
export const MAX_FINISHED = 200;

export class Monitor {
  private readonly entries = new Map<string, Entry>();
  private readonly watchers = new Map<Entry, WatchFanout>();
  /** Ids of finished entries, oldest end first. */
  private finishedOrder: string[] = [];
  private readonly subscribers = new SubscriberFanout((id) => this.entries.get(id)?.info());
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

  /** Ids of the executions that are running now (their run folders are in use). */
  runningIds(): string[] {
    return [...this.entries.values()].filter((e) => e.running).map((e) => e.id);
  }

  private open(session: Session, info: { executionId: string; kind: ExecutionKind; label: string }): Entry {
    const previous = this.entries.get(info.executionId);
    const entry = new Entry(info.executionId, info.kind, shortLabel(info.label), session, session.id);
    const fanout = new WatchFanout(entry);
    this.watchers.set(entry, fanout);
    if (previous) {
      // A resumed task list reuses its run id: the new run replaces the old entry, watchers follow it.
      this.finishedOrder = this.finishedOrder.filter((id) => id !== previous.id);
      const old = this.watchers.get(previous);
      for (const s of old?.sessions() ?? []) {
        old!.remove(s);
        fanout.add(s);
      }
      this.watchers.delete(previous);
    }
    this.entries.set(entry.id, entry);
    this.publish(entry);
    return entry;
  }

  private record(entry: Entry, method: string, params: Record<string, unknown>): void {
    this.watchers.get(entry)?.forward(entry.keep(method, params));
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
        const fanout = this.watchers.get(old);
        for (const session of fanout?.sessions() ?? []) fanout!.remove(session);
        this.watchers.delete(old);
        this.entries.delete(old.id);
      }
    }
    this.publish(entry);
  }

  /** Sends `monitor.execution` to every session that asked for updates. */
  private publish(entry: Entry): void {
    this.subscribers.publish(entry.id);
  }

  private hookCleanup(session: Session): void {
    if (this.cleanupHooked.has(session)) return;
    this.cleanupHooked.add(session);
    session.once("closed", () => {
      this.subscribers.remove(session);
      for (const fanout of this.watchers.values()) fanout.remove(session);
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
    this.subscribers.remove(session);
  }

  get(id: string): ExecutionInfo | undefined {
    return this.entries.get(id)?.info();
  }

  /**
   * Checks the execution exists and returns a function that starts the watcher (call it right
   * after the response is sent): the kept tail, monitor.replayed, then live, at the session's pace.
   */
  watch(session: Session, id: string): { info: ExecutionInfo; replay: () => void } {
    const entry = this.entries.get(id);
    if (!entry) throw new RpcError(ErrorCodes.invalidParams, `Invalid params: execution_id: no execution ${id} is known to the monitor (finished too long ago, or unknown)`);
    this.hookCleanup(session);
    return {
      info: entry.info(),
      replay: () => {
        const current = this.entries.get(id) ?? entry;
        this.watchers.get(current)?.add(session);
        this.publish(current);
      },
    };
  }

  unwatch(session: Session, id: string): boolean {
    const entry = this.entries.get(id);
    const had = entry ? (this.watchers.get(entry)?.remove(session) ?? false) : false;
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
