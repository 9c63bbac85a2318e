import type { OutputView } from "./output-view.js";

function short(value: unknown, max = 240): string {
  let text: string;
  if (typeof value === "string") text = value;
  else if (Array.isArray(value)) text = value.map((v) => (v && typeof v === "object" && "text" in v ? String((v as { text: unknown }).text) : JSON.stringify(v))).join(" ");
  else text = JSON.stringify(value) ?? "";
  text = text.replace(/\s+/g, " ").trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Writes one `claude.event` as readable lines: the answer's text as output, tools and results as notes. */
export function writeClaudeEvent(out: OutputView, event: Record<string, unknown>): void {
  switch (event.kind) {
    case "init":
      out.meta(`● claude session · model ${String(event.model ?? "?")} · ${Array.isArray(event.tools) ? event.tools.length : 0} tools · ${String(event.permissionMode ?? "")}`, "meta claude");
      break;
    case "assistant_text":
      if (event.text) out.append(`${String(event.text)}\n`);
      if (event.error) out.meta(`⚠ ${String(event.error)}`, "meta warn");
      break;
    case "tool_use":
      out.meta(`→ ${String(event.name ?? "tool")} ${short(event.input)}`, "meta tool");
      break;
    case "tool_result":
      out.meta(`← ${event.isError ? "error: " : ""}${short(event.content)}`, event.isError ? "meta warn" : "meta tool");
      break;
    case "api_retry":
      out.meta(`↻ API retry ${String(event.attempt ?? "")}${event.status ? ` (HTTP ${String(event.status)})` : ""}${event.error ? `: ${String(event.error)}` : ""}`, "meta warn");
      break;
    case "rate_limit":
      out.meta(`⚠ rate limit: ${String(event.status ?? "")}${event.resetsAt ? `, resets ${new Date(Number(event.resetsAt) * 1000).toLocaleString()}` : ""}`, "meta warn");
      break;
    case "result": {
      const r = (event.result ?? {}) as Record<string, unknown>;
      out.meta(`✔ result: ${String(r.subtype ?? "")} · ${String(r.num_turns ?? "?")} turns${typeof r.total_cost_usd === "number" ? ` · $${r.total_cost_usd.toFixed(4)}` : ""}`, "meta claude");
      break;
    }
    case "error":
      out.meta(`⚠ ${String(event.error_type ?? "error")}: ${String(event.message ?? "")}`, "meta warn");
      break;
    default:
      break;
  }
}
