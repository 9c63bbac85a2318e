import type { Entry, Kept } from "./monitor-entry.js";
import type { ExecutionInfo } from "./monitor-types.js";
import type { Session } from "./session.js";

/**
 * Delivery of the monitor's notifications to the sessions that asked for them, each at its own
 * pace. The execution is never slowed down for a monitoring client, and nothing piles up for one
 * that stopped reading.
 */

interface Watcher {
  session: Session;
  /** The last notification sent (or given up as no longer kept). */
  lastSeq: number;
  /** Entry byte offset after the last one sent: the watcher is owed entry.totalBytes minus this. */
  sentEnd: number;
  /** During the initial replay (ended by monitor.replayed): the kept tail up to replayUntil, flagged `replayed`. */
  replaying: boolean;
  replayUntil: number;
  replayed: number;
  /** Notifications that came while the socket was backed up, not yet reported in a monitor.dropped. */
  held: number;
  /** After a monitor.dropped: notifications up to this seq are flagged `resent`. */
  resendUntil: number;
  pumping: boolean;
  /** Wakes the pump waiting for the socket to drain (or for the watcher to go). */
  wake: (() => void) | undefined;
  onDrain: () => void;
}

/**
 * The watchers of one execution (monitor.watch). A watcher gets the kept tail (flagged `replayed`),
 * `monitor.replayed`, then live notifications. While its socket is backed up it is sent nothing;
 * once it drains it gets `monitor.dropped {held, resent, lost}` and what it missed that is still
 * kept (flagged `resent`), sent as fast as it reads. One that stays stalled is owed more and more:
 * when that plus its socket backlog exceeds CC_EXECUTOR_MAX_CLIENT_QUEUE, it is disconnected (4008).
 */
export class WatchFanout {
  private readonly watchers = new Map<Session, Watcher>();

  constructor(private readonly entry: Entry) {}

  get size(): number {
    return this.watchers.size;
  }

  sessions(): Session[] {
    return [...this.watchers.keys()];
  }

  add(session: Session): void {
    this.remove(session);
    const first = this.entry.kept[0];
    const w: Watcher = {
      session,
      // What came before the kept tail is not owed to anyone: it is reported as tail_truncated.
      lastSeq: first ? first.seq - 1 : this.entry.lastSeq,
      sentEnd: first ? first.end - first.bytes : this.entry.totalBytes,
      replaying: true,
      replayUntil: this.entry.lastSeq,
      replayed: 0,
      held: 0,
      resendUntil: 0,
      pumping: false,
      wake: undefined,
      onDrain: () => w.wake?.(),
    };
    this.watchers.set(session, w);
    session.on("drain", w.onDrain);
    this.entry.watcherCount = this.watchers.size;
    void this.pump(w);
  }

  remove(session: Session): boolean {
    const w = this.watchers.get(session);
    if (!w) return false;
    this.watchers.delete(session);
    session.off("drain", w.onDrain);
    w.wake?.();
    this.entry.watcherCount = this.watchers.size;
    return true;
  }

  /** A new notification of the execution (already kept in the entry). */
  forward(ev: Kept): void {
    for (const w of this.watchers.values()) {
      if (w.session.isClosed) {
        this.remove(w.session);
        continue;
      }
      if (!w.pumping && !w.session.isCongested && w.lastSeq === ev.seq - 1) {
        this.send(w, ev);
        continue;
      }
      if (w.session.isCongested && !w.replaying) w.held++;
      if (w.session.disconnectIfTooSlow(this.entry.totalBytes - w.sentEnd)) {
        this.remove(w.session);
        continue;
      }
      void this.pump(w);
    }
  }

  /** Sends the watcher what it has not been sent, from the kept tail, as fast as its socket drains. */
  private async pump(w: Watcher): Promise<void> {
    if (w.pumping) return;
    w.pumping = true;
    try {
      while (this.watchers.get(w.session) === w && !w.session.isClosed) {
        if (w.session.isCongested) {
          await new Promise<void>((resolve) => (w.wake = resolve));
          w.wake = undefined;
          continue;
        }
        const next = this.entry.keptAfter(w.lastSeq);
        if (w.replaying && (!next || next.seq > w.replayUntil)) {
          w.replaying = false;
          w.session.notify("monitor.replayed", { watched_id: this.entry.id, replayed: w.replayed, tail_truncated: this.entry.tailTruncated });
        }
        if (!next) return;
        // Held back while backed up, or dropped from the kept tail before it could be sent.
        if (w.held > 0 || next.seq > w.lastSeq + 1) this.announceDrop(w);
        this.send(w, next, w.replaying ? "replayed" : next.seq <= w.resendUntil ? "resent" : undefined);
      }
    } finally {
      w.pumping = false;
    }
  }

  private announceDrop(w: Watcher): void {
    const missed = this.entry.lastSeq - w.lastSeq;
    const first = this.entry.keptAfter(w.lastSeq);
    const resent = first ? this.entry.lastSeq - first.seq + 1 : 0;
    w.session.notify("monitor.dropped", { watched_id: this.entry.id, held: missed, resent, lost: Math.max(0, missed - resent) });
    w.held = 0;
    w.resendUntil = this.entry.lastSeq;
  }

  private send(w: Watcher, ev: Kept, flag?: "replayed" | "resent"): void {
    w.session.notify(ev.method, flag ? { ...ev.params, watched_id: this.entry.id, [flag]: true } : { ...ev.params, watched_id: this.entry.id });
    w.lastSeq = ev.seq;
    w.sentEnd = ev.end;
    if (flag === "replayed") w.replayed++;
  }
}

/**
 * The sessions subscribed to monitor.execution (monitor.list with subscribe). A subscriber whose
 * socket is backed up gets each changed execution once, in its latest state, when it drains:
 * what waits for it is at most one entry per execution, however often they change.
 */
export class SubscriberFanout {
  private readonly subscribers = new Map<Session, { pending: Set<string>; onDrain: () => void }>();

  constructor(private readonly current: (id: string) => ExecutionInfo | undefined) {}

  get size(): number {
    return this.subscribers.size;
  }

  add(session: Session): void {
    if (this.subscribers.has(session)) return;
    const sub = { pending: new Set<string>(), onDrain: () => this.flush(session) };
    this.subscribers.set(session, sub);
    session.on("drain", sub.onDrain);
  }

  remove(session: Session): void {
    const sub = this.subscribers.get(session);
    if (!sub) return;
    this.subscribers.delete(session);
    session.off("drain", sub.onDrain);
  }

  publish(id: string): void {
    for (const [session, sub] of this.subscribers) {
      if (session.isClosed) this.remove(session);
      else if (session.isCongested || sub.pending.size > 0) sub.pending.add(id);
      else this.send(session, id);
    }
  }

  private flush(session: Session): void {
    const sub = this.subscribers.get(session);
    if (!sub) return;
    for (const id of sub.pending) {
      if (session.isClosed || session.isCongested) return;
      sub.pending.delete(id);
      this.send(session, id);
    }
  }

  private send(session: Session, id: string): void {
    const execution = this.current(id);
    if (execution) session.notify("monitor.execution", { execution });
  }
}
