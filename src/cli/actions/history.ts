import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, type Config } from "../../config.js";
import { statePaths } from "../../paths.js";
import { openStore, percentile, storeOptionsFrom, type ExecutionRecord, type Store } from "../../store/index.js";
import type { ListFlags, PruneFlags } from "../commands/history.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatDuration, formatTime, info, printJson, style } from "../output.js";
import { limitsFrom, pruneState, type StateLimits } from "../../housekeeping/index.js";
import { pruneReportJson, printPruneReport } from "../state-prune.js";

async function withStore<T>(fn: (store: Store, home: string, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = await openStore({ ...storeOptionsFrom(config), redis: { prefix: config.redisPrefix, waitMs: 1500 } });
  try {
    return await fn(store, config.home, config);
  } finally {
    await store.close();
  }
}

function statusColour(status: string) {
  return status === "completed" ? "green" : status === "running" ? "cyan" : status === "canceled" ? "yellow" : "red";
}

export interface CategoryStats {
  category: string;
  count: number;
  finished: number;
  success_rate: number;
  p50_ms: number | null;
  p90_ms: number | null;
}

/** Per estimator class: how many ran, how many succeeded, and how long successful runs took. */
export function categoryStats(records: readonly ExecutionRecord[]): CategoryStats[] {
  const groups = new Map<string, ExecutionRecord[]>();
  for (const r of records) groups.set(r.category, [...(groups.get(r.category) ?? []), r]);
  return [...groups.entries()]
    .map(([category, rs]) => {
      const finished = rs.filter((r) => r.status !== "running");
      const ok = finished.filter((r) => r.status === "completed" && r.duration_ms !== undefined).map((r) => r.duration_ms!);
      return {
        category,
        count: rs.length,
        finished: finished.length,
        success_rate: finished.length ? Math.round((finished.filter((r) => r.status === "completed").length / finished.length) * 1000) / 1000 : 0,
        p50_ms: ok.length ? percentile(ok, 50) : null,
        p90_ms: ok.length ? percentile(ok, 90) : null,
      };
    })
    .sort((a, b) => b.count - a.count);
}

/** An execution for people: dates as dates, durations as durations, files one a line. */
export function describeRecord(r: ExecutionRecord & { files: string[] }): string[] {
  const row = (k: string, v: unknown) => `${k.padEnd(16)} ${v}`;
  const lines: string[] = [];
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined || k === "files" || k === "artifacts") continue;
    if (k === "started_at" || k === "ended_at") lines.push(row(k, formatTime(v as number)));
    else if (k === "duration_ms") lines.push(row("duration", formatDuration(v as number)));
    else if (k === "cost_usd") lines.push(row(k, `$${(v as number).toFixed(4)}`));
    else lines.push(row(k, typeof v === "object" ? JSON.stringify(v) : String(v)));
  }
  for (const f of r.files) lines.push(row("file", f));
  lines.push(row("output", `cc-executor logs ${r.id}`));
  return lines;
}

/** `cc-executor history list`. */
export async function historyList(flags: ListFlags): Promise<void> {
  const records = await withStore((s) => s.listExecutions({ limit: flags.limit, status: flags.status, kind: flags.kind }));
  if (flags.json) return printJson(records);
  if (records.length === 0) return info("no executions recorded yet");
  process.stdout.write(style(`${"id".padEnd(8)}  ${"started".padEnd(19)}  ${"status".padEnd(9)} ${"duration".padStart(8)}  ${"kind".padEnd(7)} command or prompt\n`, "dim", process.stdout));
  for (const r of records) {
    const when = formatTime(r.started_at);
    const took = r.duration_ms !== undefined ? formatDuration(r.duration_ms) : "";
    process.stdout.write(`${r.id.slice(0, 8)}  ${when}  ${style(r.status.padEnd(9), statusColour(r.status), process.stdout)} ${took.padStart(8)}  ${r.kind.padEnd(7)} ${r.label.split("\n")[0]!.slice(0, 80)}\n`);
  }
}

/** `cc-executor history show`. */
export async function historyShow(id: string, flags: { json?: boolean }): Promise<void> {
  const found = await withStore(async (s, home) => {
    let record = await s.getExecution(id);
    if (!record && id.length >= 4) {
      const matches = (await s.listExecutions({ limit: 1000 })).filter((r) => r.id.startsWith(id));
      if (matches.length > 1) throw new CliError(`"${id}" matches ${matches.length} executions; give more characters`, ExitCode.usage);
      record = matches[0];
    }
    if (!record) return undefined;
    const runDir = join(statePaths(home).runsDir, record.id);
    const files = ["execution.json", "output.log", "output.log.1", "transcript.jsonl", "result.json", "events.jsonl"].map((f) => join(runDir, f)).filter((f) => existsSync(f));
    return { ...record, files };
  });
  if (!found) throw new CliError(`no execution ${id} in the history (see: cc-executor history list)`, ExitCode.usage);
  if (flags.json) return printJson(found);
  process.stdout.write(`${describeRecord(found).join("\n")}\n`);
}

/** `cc-executor history stats`. */
export async function historyStats(flags: { json?: boolean }): Promise<void> {
  const stats = categoryStats(await withStore((s) => s.listExecutions({ limit: 1000 })));
  if (flags.json) return printJson(stats);
  if (stats.length === 0) return info("no executions recorded yet");
  process.stdout.write(`${"class".padEnd(24)} ${"count".padStart(6)} ${"success".padStart(8)} ${"p50".padStart(8)} ${"p90".padStart(8)}\n`);
  for (const c of stats) {
    const d = (ms: number | null) => (ms === null ? "-" : formatDuration(ms));
    process.stdout.write(`${c.category.padEnd(24)} ${String(c.count).padStart(6)} ${`${Math.round(c.success_rate * 100)}%`.padStart(8)} ${d(c.p50_ms).padStart(8)} ${d(c.p90_ms).padStart(8)}\n`);
  }
}

/** `cc-executor history clear`. */
export async function historyClear(flags: { before: number; json?: boolean }): Promise<void> {
  const before = Date.now() - flags.before;
  const deleted = await withStore((s) => s.clearExecutions({ before }));
  if (flags.json) return printJson({ deleted, before: new Date(before).toISOString() });
  info(`deleted ${deleted} execution(s) started before ${new Date(before).toISOString()}`);
}

/** `cc-executor history prune`. */
export async function historyPrune(flags: PruneFlags): Promise<void> {
  const report = await withStore(async (store, home, config) => {
    const limits = pruneLimits(config, flags);
    return { json: pruneReportJson(await pruneState(home, store, limits, { dryRun: flags.dryRun }), { keep: limits.historyKeep }) };
  });
  if (flags.json) printJson(report.json);
  else printPruneReport(report.json);
  if (report.json.runs.failed.length > 0) process.exitCode = ExitCode.failure;
}

/** The configured limits, with what the flags set instead (a flag's value is literal: 0s is "everything"; "none" is no limit). */
export function pruneLimits(config: Config, flags: { olderThan?: number; maxRows?: number; maxSize?: number }): StateLimits {
  const limits = limitsFrom(config);
  const orNone = (n: number) => (Number.isFinite(n) ? n : undefined);
  if (flags.olderThan !== undefined) {
    limits.runs.maxAgeMs = orNone(flags.olderThan * 1000);
    limits.historyMaxAgeMs = orNone(flags.olderThan * 1000);
  }
  if (flags.maxRows !== undefined) limits.historyKeep = orNone(flags.maxRows);
  if (flags.maxSize !== undefined) limits.runs.maxBytes = orNone(flags.maxSize);
  return limits;
}
