import { StreamJsonParser, summarizeInput, type StreamEvent } from "../claude/index.js";
import { formatDuration } from "./output.js";

function firstLine(content: unknown): string {
  const text = typeof content === "string" ? content : Array.isArray(content) ? content.map((c) => (c && typeof c === "object" && typeof (c as { text?: unknown }).text === "string" ? (c as { text: string }).text : "")).join(" ") : "";
  const line = text.trim().split("\n")[0] ?? "";
  return line.length > 160 ? `${line.slice(0, 160)}…` : line;
}

/** One stream-json event as lines for people; undefined for events not worth showing. */
export function renderStreamEvent(e: StreamEvent): string | undefined {
  switch (e.kind) {
    case "init":
      return `── claude ${e.model} · session ${e.sessionId} ──`;
    case "assistant_text":
      return e.error ? `${e.text}\n[error: ${e.error}]`.trim() : e.text;
    case "tool_use":
      return `⚙ ${e.name} ${summarizeInput(e.input)}`.trimEnd();
    case "tool_result":
      return `  ${e.isError ? "✗" : "→"} ${firstLine(e.content)}`.trimEnd();
    case "api_retry":
      return `  API ${e.status ?? "connection"} error; claude retries (attempt ${e.attempt})`;
    case "rate_limit":
      return e.status === "allowed" ? undefined : `rate limit: ${e.status}${e.resetsAt ? `, resets ${new Date(e.resetsAt * 1000).toISOString()}` : ""}`;
    case "result": {
      const r = e.result;
      const parts = [r.subtype, r.num_turns !== undefined ? `${r.num_turns} turns` : "", r.total_cost_usd !== undefined ? `$${r.total_cost_usd.toFixed(4)}` : "", r.duration_ms !== undefined ? formatDuration(r.duration_ms) : ""].filter(Boolean);
      return `── result: ${parts.join(" · ")}${r.is_error ? " · error" : ""} ──${r.is_error && r.result ? `\n${r.result}` : ""}`;
    }
    case "noise":
      return e.line;
    case "system":
      return undefined;
  }
}

/** Turns transcript bytes (stream-json, cut anywhere) into readable text, chunk by chunk. */
export function transcriptRenderer(): { push(data: Buffer | string): string; end(): string } {
  const parser = new StreamJsonParser();
  const render = (events: StreamEvent[]) =>
    events
      .map(renderStreamEvent)
      .filter((l): l is string => l !== undefined && l !== "")
      .map((l) => `${l}\n`)
      .join("");
  return { push: (data) => render(parser.push(data)), end: () => render(parser.end()) };
}
