import type { StatePruneReport } from "../housekeeping/index.js";
import { formatBytes } from "../units.js";
import { info } from "./output.js";

/**
 * How `history prune` and `cleanup` report a prune of the state directory: one JSON shape
 * (snake_case, as the wire protocol) and the same lines for people.
 */

export function pruneReportJson(report: StatePruneReport, limits: { keep?: number }) {
  const { plan } = report.runs;
  const gone = new Set(report.runs.removed.map((f) => f.id));
  const removed = report.runs.dryRun ? plan.remove : plan.remove.filter((f) => gone.has(f.id));
  const freed = removed.reduce((s, f) => s + f.bytes, 0);
  return {
    dry_run: report.runs.dryRun,
    history: {
      executions: report.history.executions,
      task_list_runs: report.history.task_list_runs,
      started_before: report.historyBefore !== undefined ? new Date(report.historyBefore).toISOString() : null,
      keep: limits.keep ?? null,
    },
    runs: {
      removed: removed.map((f) => ({
        id: f.id,
        bytes: f.bytes,
        last_write: new Date(f.lastWrite).toISOString(),
        reason: f.reason,
      })),
      failed: report.runs.failed.map((f) => ({ id: f.folder.id, error: f.error })),
      in_use_kept: plan.spared.map((f) => ({ id: f.id, bytes: f.bytes, in_use: f.inUse })),
      freed_bytes: freed,
      total_bytes: plan.totalBytes,
      kept_bytes: plan.totalBytes - freed,
      folders: plan.folders,
    },
  };
}

export function printPruneReport(json: ReturnType<typeof pruneReportJson>): void {
  const would = json.dry_run ? "would delete" : "deleted";
  const h = json.history;
  const criteria = [h.started_before ? `started before ${h.started_before.replace("T", " ").slice(0, 19)}` : "", h.keep !== null ? `beyond the newest ${h.keep}` : ""].filter(Boolean).join(" or ");
  info(`history: ${would} ${h.executions} execution(s) and ${h.task_list_runs} task-list run(s)${criteria ? ` (${criteria})` : " (no history limit set)"}`);
  const r = json.runs;
  const spared = r.in_use_kept.length > 0 ? `; ${r.in_use_kept.length} in use kept` : "";
  info(`runs:    ${would} ${r.removed.length} of ${r.folders} run folder(s), ${formatBytes(r.freed_bytes)}; ${formatBytes(r.kept_bytes)} kept${spared}`);
  for (const f of r.failed) info(`         could not delete ${f.id}: ${f.error}`);
}
