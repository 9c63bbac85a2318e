import { summarizeInput, type ClaudeTaskEvent, type StreamEvent } from "../claude/index.js";
import type { HookWarning } from "../hooks/index.js";
import type { TaskActivity } from "../tasks/index.js";

/** At most `max` characters, "..." marking a cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** The first line of a text, clipped: progress messages are one line each. */
export function firstLine(text: string, max = 120): string {
  return clip(text.trim().split("\n")[0] ?? "", max);
}

export function hookWarningMessage(w: HookWarning): string {
  return `⚠ ${w.event} hook ${w.hook}: ${firstLine(w.message)}`;
}

/** A short line for a claude stream event worth a progress tick, else undefined. */
function streamMessage(ev: StreamEvent): string | undefined {
  switch (ev.kind) {
    case "assistant_text":
      return ev.text ? `» ${firstLine(ev.text)}` : undefined;
    case "tool_use":
      return `⚙ ${ev.name} ${summarizeInput(ev.input)}`.trim();
    case "api_retry":
      return `API ${ev.status ?? "connection"} error; claude retries (attempt ${ev.attempt})`;
    default:
      return undefined;
  }
}

/** A progress line for a claude task event, or undefined when the event is not worth one. */
export function claudeEventMessage(ev: ClaudeTaskEvent): string | undefined {
  switch (ev.type) {
    case "attempt_started":
      return `claude attempt ${ev.attempt} started (pid ${ev.pid})`;
    case "stream":
      return streamMessage(ev.event);
    case "error":
      return `✗ ${ev.failure.error_type}: ${firstLine(ev.failure.message)}`;
    case "retry":
      return `↻ retrying in ${Math.round(ev.delayMs / 1000)} s (${ev.reason})`;
    case "waiting_for_limit":
      return `⏳ waiting for the usage limit to reset at ${new Date(ev.untilEpochMs).toISOString()}`;
    case "session":
      return ev.resumed ? `↪ attempt ${ev.attempt} continues session ${ev.sessionId} (${firstLine(ev.reason)})` : `↪ session ${ev.sessionId} could not be continued (${firstLine(ev.fallback ?? "")}); attempt ${ev.attempt} starts afresh`;
    default:
      return undefined;
  }
}

/** A progress line for what a task of a list is doing (its output is not one), or undefined. */
export function taskActivityMessage(act: TaskActivity): string | undefined {
  switch (act.type) {
    case "claude":
      return claudeEventMessage(act.event);
    case "process.started":
      return `$ ${firstLine(act.command, 100)}`;
    case "hook.warning":
      return hookWarningMessage(act.warning);
    default:
      return undefined;
  }
}
