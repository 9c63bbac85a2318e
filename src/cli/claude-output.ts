import type { ClaudeTaskResult } from "../claude/index.js";
import { summarizeInput } from "../claude/tool-input.js";
import type { ExecutorEvent } from "../client/index.js";
import { Notifications } from "../protocol/names.js";
import { ExitCode } from "./exit-codes.js";
import { formatDuration, info, printJson, style } from "./output.js";
import { expectedClaudeDuration } from "./eta.js";
import type { LiveLine } from "./live-line.js";

/** How `claude` (and `wait` for a claude task) shows a claude task: progress, result, exit code. */

/** Exit code for a claude result: 0 only on verified success. */
export function claudeExitCode(r: Pick<ClaudeTaskResult, "success" | "error_type">): number {
  if (r.success) return ExitCode.ok;
  switch (r.error_type) {
    case "timeout":
      return ExitCode.timeout;
    case "canceled":
      return ExitCode.interrupted;
    case "binary_not_found":
      return ExitCode.claudeNotFound;
    case "budget_exceeded":
      return ExitCode.budgetExhausted;
    case "usage_limit":
    case "rate_limit":
    case "overloaded":
    case "server_error":
    case "connection_error":
      return ExitCode.tryLater;
    default:
      return ExitCode.failure;
  }
}

/** Where progress lines go: stderr, or above a live line. */
export type LineOut = (line: string) => void;

/**
 * Progress lines from a claude task's notifications. `out` receives whole lines; with
 * `countdown` (a terminal without a live line) the wait for a usage-limit reset ticks in place.
 */
export function progressPrinter(
  out: LineOut = info,
  options: { countdown?: boolean } = { countdown: Boolean(process.stderr.isTTY) },
): ((ev: ExecutorEvent) => void) & { readonly lastError?: string } {
  let countdown: NodeJS.Timeout | undefined;
  let lastError: string | undefined;
  const printer = (ev: ExecutorEvent): void => {
    const p = ev.params as Record<string, any>;
    if (ev.method !== Notifications.claudeWaiting && countdown) {
      clearInterval(countdown);
      countdown = undefined;
      process.stderr.write("\n");
    }
    switch (ev.method) {
      case Notifications.claudeEvent: {
        const e = p.event as Record<string, any>;
        if (e.kind === "init") out(style(`claude ${e.model} · session ${e.sessionId} · attempt ${p.attempt}`, "dim"));
        else if (e.kind === "assistant_text" && e.text) out(style(`» ${String(e.text).trim().split("\n").slice(0, 6).join("\n  ")}`, "gray"));
        else if (e.kind === "tool_use") out(style(`⚙ ${e.name} ${summarizeInput(e.input)}`, "cyan"));
        else if (e.kind === "tool_result" && e.isError) out(style("  tool reported an error", "yellow"));
        else if (e.kind === "api_retry") out(style(`  API ${e.status ?? "connection"} error; claude retries (attempt ${e.attempt})`, "yellow"));
        else if (e.kind === "error") {
          lastError = `${e.error_type}: ${e.message}`;
          out(style(`✗ ${lastError}`, "yellow"));
        }
        break;
      }
      case Notifications.rateLimitExceeded:
      case Notifications.tokenLimitExceeded:
        lastError = `${p.error_type}: ${p.message}`;
        out(style(`✗ ${lastError}`, "yellow"));
        break;
      case Notifications.claudeSession:
        if (p.resumed) out(style(`↪ attempt ${p.attempt} continues session ${p.session_id} (${p.reason})`, "cyan"));
        else out(style(`↪ session ${p.session_id} could not be continued (${p.fallback}); attempt ${p.attempt} starts afresh`, "yellow"));
        break;
      case Notifications.claudeRetry:
        out(style(`↻ retrying in ${formatDuration(p.delay_ms)} (${p.reason})`, "yellow"));
        break;
      case Notifications.claudeWaiting: {
        const until = Number(p.until_epoch_ms);
        const line = () => `⏳ waiting for the usage limit to reset at ${new Date(until).toLocaleTimeString()}: ${formatDuration(Math.max(0, until - Date.now()))} left`;
        if (options.countdown) {
          countdown = setInterval(() => process.stderr.write(`\r${style(line(), "yellow")}\u001b[K`), 1000);
          countdown.unref();
        } else out(line());
        break;
      }
    }
  };
  // The error it printed last, so that the result's status line need not repeat it.
  return Object.defineProperty(printer, "lastError", { get: () => lastError }) as typeof printer & { readonly lastError?: string };
}

/**
 * A task's result as `claude` prints it: the JSON object, or the answer on stdout and a status line
 * on stderr. `shownError`: the error the progress lines printed last; the same one is not repeated.
 */
export function printClaudeResult(result: ClaudeTaskResult, flags: { json?: boolean; quiet?: boolean }, shownError?: string): void {
  if (flags.json) return printJson(result);
  if (result.result) process.stdout.write(`${result.result}\n`);
  const tokens = `${result.usage.input_tokens} in / ${result.usage.output_tokens} out tokens`;
  if (result.success) {
    if (!flags.quiet) info(style(`✓ done${result.uuid_verified ? " · UUID verified" : ""} · ${result.attempts} attempt(s) · ${result.num_turns} turns · ${tokens} · $${result.cost_usd.toFixed(4)} · ${formatDuration(result.duration_ms)}`, "green"));
  } else if (shownError !== `${result.error_type}: ${result.message}`) info(style(`✗ ${result.error_type}: ${result.message}`, "red"));
  for (const d of result.permission_denials) info(style(`  permission denied: ${d.tool_name} ${summarizeInput(d.tool_input)}`, "yellow"));
  if (!flags.quiet) info(style(`transcript: ${result.transcript_path}`, "dim"));
}


/**
 * `claude`'s progress: the task's lines, and with `live` (a terminal, not --quiet) a ticking line
 * with the elapsed time against the typical duration of such tasks from history
 * ("claude · 1m02s of ~3m12s"), else against the timeout.
 */
export function claudeProgress(prompt: string, live?: LiveLine): { onEvent(ev: ExecutorEvent): void; stop(): void; shownError(): string | undefined } {
  const out = (line: string) => (live ? live.print(line) : info(line));
  const lines = progressPrinter(out, { countdown: !live && Boolean(process.stderr.isTTY) });
  const startedAt = Date.now();
  let typical: number | undefined;
  let timeoutS: number | undefined;
  if (live) {
    void expectedClaudeDuration(prompt).then((ms) => (typical = ms));
    live.show(() => {
      const elapsed = formatDuration(Date.now() - startedAt);
      return `claude · ${typical !== undefined ? `${elapsed} of ~${formatDuration(typical)}` : `${elapsed}${timeoutS ? ` (timeout ${formatDuration(timeoutS * 1000)})` : ""}`}`;
    });
  }
  return {
    onEvent(ev) {
      if (ev.method === Notifications.processStarted && typeof ev.params.timeout === "number") timeoutS = ev.params.timeout;
      lines(ev);
    },
    stop: () => live?.stop(),
    shownError: () => lines.lastError,
  };
}
