import { info, style } from "./output.js";

export interface Interrupt {
  /** True once Ctrl-C, SIGTERM or SIGHUP arrived. */
  readonly interrupted: boolean;
  /** The signal that interrupted, once one did. */
  readonly signal: NodeJS.Signals | undefined;
  /** Stops listening for the signals. */
  dispose(): void;
}

/** Ctrl-C; what `kill`, `timeout` and supervisors send; what a closing terminal sends. */
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * The first Ctrl-C / SIGTERM / SIGHUP says what is happening and calls `cancel` (the work then
 * ends as canceled, its state saved, and the command exits 130); later ones are ignored so the
 * cancel can finish cleanly. (SIGKILL cannot be caught: a task list's checkpoint then says
 * "interrupted" and it resumes all the same.)
 */
export function onInterrupt(message: string, cancel: () => unknown): Interrupt {
  let signal: NodeJS.Signals | undefined;
  const handler = (received: NodeJS.Signals) => {
    if (signal) return;
    signal = received;
    // After SIGHUP the terminal may be gone: a failed write to it must not end the process before the cleanup.
    if (received === "SIGHUP") for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
    info(style(`\ninterrupted (${received}): ${message}`, "yellow"));
    void Promise.resolve()
      .then(cancel)
      .catch(() => undefined);
  };
  for (const s of SIGNALS) process.on(s, handler);
  return {
    get interrupted() {
      return signal !== undefined;
    },
    get signal() {
      return signal;
    },
    dispose: () => {
      for (const s of SIGNALS) process.off(s, handler);
    },
  };
}

/**
 * A cancel that waits for the work to exist: a signal that arrives while the start request is on
 * its way is acted on at the work's first notification instead of being lost.
 */
export function cancelOnceStarted(cancel: () => Promise<unknown>): { request: () => Promise<unknown> | undefined; started: () => void } {
  let running = false;
  let wanted = false;
  return {
    request: () => {
      wanted = true;
      return running ? cancel() : undefined;
    },
    started: () => {
      if (running) return;
      running = true;
      if (wanted) void cancel().catch(() => undefined);
    },
  };
}
