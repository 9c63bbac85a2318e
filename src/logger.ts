import { pino, type Logger, type LevelWithSilent } from "pino";
import { lazyRequire } from "./lazy-require.js";

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable output (default: when stderr is a TTY). */
  pretty?: boolean;
}

/**
 * Structured logs go to stderr so that stdout stays free for command output and --json data.
 * Pretty printing is synchronous (no worker thread) so that the last lines before exit are kept.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const usePretty = options.pretty ?? Boolean(process.stderr.isTTY);
  if (!usePretty) return pino({ level, base: { service: "cc-executor" } }, pino.destination({ fd: 2, sync: true }));
  const pretty = lazyRequire("pino-pretty") as typeof import("pino-pretty");
  const stream = pretty({
    destination: 2,
    sync: true,
    colorize: !process.env.NO_COLOR && Boolean(process.stderr.isTTY),
    ignore: "pid,hostname,service",
    translateTime: "HH:MM:ss.l",
  });
  return pino({ level, base: { service: "cc-executor" } }, stream);
}

/** A logger that drops everything: the default for library callers who did not ask for logs. */
export const silentLogger: Logger = pino({ level: "silent" });
