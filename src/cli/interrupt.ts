import { info, style } from "./output.js";

export interface Interrupt {
  /** True once Ctrl-C (or SIGTERM) arrived. */
  readonly interrupted: boolean;
  /** Stops listening for the signals. */
  dispose(): void;
}

/**
 * The first Ctrl-C / SIGTERM says what is happening and calls `cancel` (the work then ends as
 * canceled and the command exits 130); later ones are ignored so the cancel can finish cleanly.
 */
export function onInterrupt(message: string, cancel: () => unknown): Interrupt {
  let interrupted = false;
  const handler = () => {
    if (interrupted) return;
    interrupted = true;
    info(style(`\ninterrupted: ${message}`, "yellow"));
    void Promise.resolve()
      .then(cancel)
      .catch(() => undefined);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    get interrupted() {
      return interrupted;
    },
    dispose: () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}
