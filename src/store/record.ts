import { createHash } from "node:crypto";
import type { ExecutionEnd, ExecutionQuery, ExecutionRecord, ExecutionStart, TaskListRun } from "./types.js";

/**
 * Pure record logic shared by both backends, so that they agree on defaults, merging and
 * filtering by construction rather than by two parallel implementations.
 */

/** Longest label kept; the full text is only represented by its digest. */
export const LABEL_MAX = 200;
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_RUN_LIST_LIMIT = 50;

/** The first LABEL_MAX characters, counted in code points so that no surrogate pair is cut in half. */
export function labelOf(text: string): string {
  if (text.length <= LABEL_MAX) return text;
  const points = Array.from(text);
  return points.length <= LABEL_MAX ? text : points.slice(0, LABEL_MAX).join("");
}

/** sha256 hex of the full command or prompt. */
export function digestOf(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

export function toMs(t: Date | number): number {
  return t instanceof Date ? t.getTime() : t;
}

export function clampLimit(limit: number | undefined, fallback = DEFAULT_LIST_LIMIT): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.max(0, Math.min(MAX_LIST_LIMIT, Math.floor(limit)));
}

/** A start request turned into a full record: defaults applied, label capped, undefined fields dropped. */
export function startRecord(rec: ExecutionStart): ExecutionRecord {
  if (typeof rec.id !== "string" || rec.id === "") throw new TypeError("execution id must be a non-empty string");
  return compact({
    ...rec,
    label: labelOf(rec.label),
    status: rec.status ?? "running",
    artifacts: { ...(rec.artifacts ?? {}) },
  });
}

/** The record after its end: absent patch fields keep their value, artifacts merge. */
export function applyEnd(rec: ExecutionRecord, patch: ExecutionEnd, now = Date.now()): ExecutionRecord {
  const endedAt = patch.ended_at ?? now;
  const defined = compact({ ...patch } as Record<string, unknown>);
  return compact({
    ...rec,
    ...defined,
    ended_at: endedAt,
    duration_ms: patch.duration_ms ?? Math.max(0, endedAt - rec.started_at),
    artifacts: { ...rec.artifacts, ...(patch.artifacts ?? {}) },
  } as ExecutionRecord);
}

export function matchesQuery(rec: ExecutionRecord, q: ExecutionQuery): boolean {
  if (q.status !== undefined && rec.status !== q.status) return false;
  if (q.kind !== undefined && rec.kind !== q.kind) return false;
  if (q.before !== undefined && !(rec.started_at < toMs(q.before))) return false;
  return true;
}

/** Newest first; ties broken by id so that both backends give one order. */
export function newestFirst(a: { started_at: number; id?: string; run_id?: string }, b: { started_at: number; id?: string; run_id?: string }): number {
  if (a.started_at !== b.started_at) return b.started_at - a.started_at;
  const ka = a.id ?? a.run_id ?? "";
  const kb = b.id ?? b.run_id ?? "";
  return ka < kb ? 1 : ka > kb ? -1 : 0;
}

/** Durations of successful runs, in the order given (callers pass records newest first). */
export function successfulDurations(records: ExecutionRecord[], category: string, limit: number): number[] {
  const out: number[] = [];
  for (const r of records) {
    if (out.length >= limit) break;
    if (r.category === category && r.status === "completed" && typeof r.duration_ms === "number") out.push(r.duration_ms);
  }
  return out;
}

export function validateRun(run: TaskListRun): TaskListRun {
  if (typeof run.run_id !== "string" || run.run_id === "") throw new TypeError("run_id must be a non-empty string");
  return compact({ ...run });
}

/** Drops undefined and null fields so that records read back compare equal across backends. */
export function compact<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null) out[k] = v;
  return out as T;
}
