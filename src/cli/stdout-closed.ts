/**
 * A closed stdout (`cc-executor ... | head -1`): the command ends quietly, as Unix tools do when
 * SIGPIPE kills them (exit 141 = 128 + SIGPIPE), instead of crashing on EPIPE with a stack trace.
 * Work that writes to stdout while it runs (`run`) registers a stop handler: it is canceled first.
 */
import { ExitCode } from "./exit-codes.js";

const stops = new Set<() => unknown>();
let closed = false;

/** True once stdout's reader went away. */
export function stdoutClosed(): boolean {
  return closed;
}

/** Calls `stop` (e.g. cancel the running command) when stdout closes; the command then ends with 141. */
export function onStdoutClosed(stop: () => unknown): { dispose(): void } {
  stops.add(stop);
  return { dispose: () => void stops.delete(stop) };
}

function isEpipe(err: NodeJS.ErrnoException): boolean {
  return err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED";
}

/** Installs the handlers on stdout and stderr; call once, at start-up. */
export function guardStdio(): void {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (!isEpipe(err)) throw err;
    if (closed) return;
    closed = true;
    process.exitCode = ExitCode.stdoutClosed;
    if (stops.size === 0) process.exit(ExitCode.stdoutClosed);
    // The command ends by itself once its work is canceled; a bound in case a stop hangs.
    for (const stop of stops) void Promise.resolve().then(stop).catch(() => undefined);
    setTimeout(() => process.exit(ExitCode.stdoutClosed), 10_000).unref();
  });
  // Nothing useful to do when stderr is gone: keep going without it.
  process.stderr.on("error", (err: NodeJS.ErrnoException) => {
    if (!isEpipe(err)) throw err;
  });
}
