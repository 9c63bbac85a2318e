import { call, type Params } from "./connection.js";

/**
 * Watching executions: the server replays what it kept of one (each replayed notification flagged
 * `replayed`, then `monitor.replayed`), then sends it live, all tagged with `watched_id`. Several
 * views may watch the same execution over the one session; a new watcher's replay must not be
 * shown twice by the watchers that already saw it.
 */

export interface Watch {
  onEvent(method: string, params: Params): void;
  /** Called before a (re)play starts: forget what was shown. */
  reset(): void;
  /** Set while a replay meant for another watcher of the same execution goes by. */
  skipReplay?: boolean;
}

const watchers = new Map<string, Set<Watch>>();

export function watch(id: string, w: Watch): void {
  let set = watchers.get(id);
  if (!set) watchers.set(id, (set = new Set()));
  for (const other of set) if (other !== w) other.skipReplay = true;
  set.add(w);
  w.skipReplay = false;
  w.reset();
  call("monitor.watch", { execution_id: id }).catch((err: Error) => {
    for (const other of set!) other.skipReplay = false;
    w.onEvent("watch.error", { message: err.message });
  });
}

export function unwatch(id: string, w: Watch): void {
  const set = watchers.get(id);
  if (!set?.delete(w)) return;
  if (set.size === 0) {
    watchers.delete(id);
    void call("monitor.unwatch", { execution_id: id }).catch(() => undefined);
  }
}

/** After a reconnect: the previous session's watches are gone with it, so watch again (each view replays). */
export function rewatchAll(): void {
  for (const [id, set] of watchers) {
    for (const w of set) {
      w.skipReplay = false;
      w.reset();
    }
    void call("monitor.watch", { execution_id: id }).catch(() => undefined);
  }
}

/** Hands a watched execution's notification (one with `watched_id`) to its watchers. */
export function dispatchWatched(method: string, params: Params): void {
  const id = params.watched_id;
  if (typeof id !== "string") return; // our own runner connections' work arrives elsewhere
  for (const w of watchers.get(id) ?? []) {
    if (method === "monitor.replayed") {
      const skipped = w.skipReplay;
      w.skipReplay = false;
      if (skipped) continue;
    } else if (params.replayed && w.skipReplay) continue;
    w.onEvent(method, params);
  }
}
