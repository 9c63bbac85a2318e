import { h } from "./dom.js";
import { bytes, dateTime, duration } from "./format.js";

/**
 * Any JSON object as labelled fields (never as raw JSON): keys become words, values are formatted
 * by what their key says they are (sizes, times, durations), nested objects become sub-lists.
 */

const LABELS: Record<string, string> = {
  peer_auth: "peer auth",
  tls: "TLS",
  dir: "directory",
  bytes: "size",
  max_bytes: "size limit",
  max_age_s: "age limit",
  max_rows: "row limit",
  oldest_write: "oldest write",
  oldest_started_at: "oldest execution",
  task_list_runs: "task-list runs",
  last_pruned_at: "last pruned",
  limits_unavailable: "limits not applied",
  pidsMax: "max processes",
  memoryMax: "max memory",
};

/** "peer_auth" → "peer auth", "pidsMax" → "pids max" (or the wording above). */
export function fieldLabel(key: string): string {
  return LABELS[key] ?? key.replace(/_/g, " ").replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a} ${b.toLowerCase()}`);
}

/** One value as text, by what its key says it holds. */
export function fieldText(key: string, value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") {
    if (/^pid$|^port$|_id$/.test(key)) return String(value); // a name, not an amount: no digit grouping
    if (/bytes$|^memoryMax$/.test(key)) return bytes(value);
    if (/_s$|_seconds$/.test(key)) return value >= 86_400 ? `${Number((value / 86_400).toFixed(1))} days` : duration(value * 1000);
    if (/_ms$/.test(key)) return duration(value);
    if (/_at$|^oldest_write$/.test(key)) return dateTime(value);
    return value.toLocaleString();
  }
  if (typeof value === "string" && /_at$/.test(key) && !Number.isNaN(Date.parse(value))) return dateTime(value);
  return String(value);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A value's dd: text, a comma list of scalars, or nested fields for objects (and lists of them). */
function fieldValue(key: string, value: unknown): HTMLElement {
  if (isObject(value)) return h("dd", {}, Object.keys(value).length ? fieldList(value) : "none");
  if (Array.isArray(value)) {
    if (value.length === 0) return h("dd", {}, "none");
    if (value.every((v) => !isObject(v) && !Array.isArray(v))) return h("dd", {}, value.map((v) => fieldText(key, v)).join(", "));
    return h("dd", {}, ...value.map((v) => (isObject(v) ? fieldList(v) : h("div", {}, fieldText(key, v)))));
  }
  return h("dd", {}, fieldText(key, value));
}

/** `<dl class="fields">` of an object's entries, in their order; undefined values are left out. */
export function fieldList(obj: Record<string, unknown>, extra: Array<[string, string]> = []): HTMLElement {
  const rows = Object.entries(obj)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => h("div", { className: "field", dataset: { key: k } }, h("dt", {}, fieldLabel(k)), fieldValue(k, v)));
  for (const [label, text] of extra) rows.push(h("div", { className: "field" }, h("dt", {}, label), h("dd", {}, text)));
  return h("dl", { className: "fields" }, ...rows);
}
