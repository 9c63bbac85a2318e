import { StringDecoder } from "node:string_decoder";
import { ApiRetryMessage, AssistantMessage, RateLimitEvent, ResultMessage, SystemInitMessage, UserMessage } from "./stream-types.js";
import type { PermissionDenial, ResultMessage as Result } from "./stream-types.js";

/** Typed events read from the stream; `raw` is the parsed JSON line. */
export type StreamEvent =
  | { kind: "init"; sessionId: string; model: string; tools: string[]; permissionMode: string; apiKeySource?: string; raw: unknown }
  | { kind: "assistant_text"; text: string; error?: string; raw: unknown }
  | { kind: "tool_use"; id: string; name: string; input: unknown; raw: unknown }
  | { kind: "tool_result"; toolUseId: string; isError: boolean; content: unknown; raw: unknown }
  /** Text the CLI itself adds to the conversation as the user (isSynthetic), e.g. hook feedback. */
  | { kind: "user_text"; text: string; synthetic: boolean; raw: unknown }
  | { kind: "api_retry"; attempt: number; status: number | null; error?: string; delayMs?: number; raw: unknown }
  | { kind: "rate_limit"; status: string; resetsAt?: number; limitType?: string; raw: unknown }
  | { kind: "system"; subtype: string; raw: unknown }
  | { kind: "result"; result: Result; permissionDenials: PermissionDenial[]; raw: unknown }
  | { kind: "noise"; line: string };

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Splits stream-json output into lines and lines into typed events. Tolerates chunks that cut
 * lines (or UTF-8 characters) anywhere, CRLF, blank lines and non-JSON noise; a line longer than
 * `maxLineBytes` is dropped (reported as noise) instead of being buffered without bound.
 */
export class StreamJsonParser {
  private readonly decoder = new StringDecoder("utf8");
  private partial = "";
  private overflowing = false;

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  push(chunk: string | Buffer): StreamEvent[] {
    const text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    const events: StreamEvent[] = [];
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.overflowing) {
        this.overflowing = false;
        this.partial = "";
        continue;
      }
      const line = this.partial + piece;
      this.partial = "";
      events.push(...parseLine(line));
    }
    const rest = text.slice(start);
    if (this.overflowing) return events;
    if (this.partial.length + rest.length > this.maxLineBytes) {
      events.push({ kind: "noise", line: `[dropped a line longer than ${this.maxLineBytes} bytes]` });
      this.partial = "";
      this.overflowing = true;
    } else this.partial += rest;
    return events;
  }

  end(): StreamEvent[] {
    const rest = this.partial + this.decoder.end();
    this.partial = "";
    return this.overflowing || rest === "" ? [] : parseLine(rest);
  }
}

/** One line to zero or more events (an assistant message may carry several content blocks). */
export function parseLine(rawLine: string): StreamEvent[] {
  const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
  if (line.trim() === "") return [];
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return [{ kind: "noise", line }];
  }
  if (json === null || typeof json !== "object" || typeof (json as { type?: unknown }).type !== "string") return [{ kind: "noise", line }];
  const type = (json as { type: string }).type;
  switch (type) {
    case "system": {
      const init = SystemInitMessage.safeParse(json);
      if (init.success) return [{ kind: "init", sessionId: init.data.session_id, model: init.data.model, tools: init.data.tools, permissionMode: init.data.permissionMode, apiKeySource: init.data.apiKeySource, raw: json }];
      const retry = ApiRetryMessage.safeParse(json);
      if (retry.success) return [{ kind: "api_retry", attempt: retry.data.attempt, status: retry.data.error_status, error: retry.data.error, delayMs: retry.data.retry_delay_ms, raw: json }];
      return [{ kind: "system", subtype: String((json as { subtype?: unknown }).subtype ?? ""), raw: json }];
    }
    case "assistant": {
      const msg = AssistantMessage.safeParse(json);
      if (!msg.success) return [{ kind: "noise", line }];
      const events: StreamEvent[] = [];
      for (const block of msg.data.message.content) {
        if (block.type === "text" && typeof block.text === "string") events.push({ kind: "assistant_text", text: block.text, error: msg.data.error, raw: json });
        else if (block.type === "tool_use") events.push({ kind: "tool_use", id: block.id ?? "", name: block.name ?? "", input: block.input, raw: json });
      }
      if (events.length === 0 && msg.data.error) events.push({ kind: "assistant_text", text: "", error: msg.data.error, raw: json });
      return events;
    }
    case "user": {
      const msg = UserMessage.safeParse(json);
      if (!msg.success) return [];
      const synthetic = msg.data.isSynthetic === true;
      const content = msg.data.message.content;
      if (typeof content === "string") return synthetic ? [{ kind: "user_text", text: content, synthetic, raw: json }] : [];
      return content.flatMap((b): StreamEvent[] => {
        if (b.type === "tool_result") return [{ kind: "tool_result", toolUseId: b.tool_use_id ?? "", isError: b.is_error === true, content: b.content, raw: json }];
        if (b.type === "text" && synthetic) return [{ kind: "user_text", text: b.text ?? "", synthetic, raw: json }];
        return [];
      });
    }
    case "rate_limit_event": {
      const ev = RateLimitEvent.safeParse(json);
      if (!ev.success) return [{ kind: "noise", line }];
      return [{ kind: "rate_limit", status: ev.data.rate_limit_info.status, resetsAt: ev.data.rate_limit_info.resetsAt, limitType: ev.data.rate_limit_info.rateLimitType, raw: json }];
    }
    case "result": {
      const res = ResultMessage.safeParse(json);
      if (!res.success) return [{ kind: "noise", line }];
      return [{ kind: "result", result: res.data, permissionDenials: res.data.permission_denials ?? [], raw: json }];
    }
    default:
      return [{ kind: "system", subtype: type, raw: json }];
  }
}
